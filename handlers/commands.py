"""The table of every chat command (the registry the front ends and /help read)."""

from __future__ import annotations

from dlbot.handlers import (
    lang_messages,
    messages,
    run_messages,
    sota_messages,
    subscription_messages,
    tip_messages,
    usage_messages,
)
from dlbot.handlers.gpus import gpus_command
from dlbot.handlers.lang import lang_command
from dlbot.handlers.registry import Command, Context, Invocation, Registry
from dlbot.handlers.reply import Reply
from dlbot.handlers.runs import link_command, mute_command, run_command, runs_command
from dlbot.handlers.sota import sota_command
from dlbot.handlers.subscriptions import (
    subscribe_command,
    subscriptions_command,
    test_alert_command,
    unsubscribe_command,
)
from dlbot.handlers.tips import tip_command
from dlbot.handlers.usage import usage_command


async def help_command(invocation: Invocation, context: Context) -> Reply:
    shown = REGISTRY.commands if invocation.is_admin else REGISTRY.public()
    return messages.help_reply(shown, invocation.spell)


COMMANDS: tuple[Command, ...] = (
    Command(
        "gpus",
        messages.GPUS_SUMMARY,
        messages.GPUS_USAGE,
        gpus_command,
        examples=("/gpus", "/gpus gpu-07", "/gpus free", "/gpus wait 2"),
    ),
    Command(
        "runs",
        run_messages.RUNS_SUMMARY,
        run_messages.RUNS_USAGE,
        runs_command,
        examples=("/runs", "/runs gpu-07", "/runs mine"),
    ),
    Command(
        "usage",
        usage_messages.USAGE_SUMMARY,
        usage_messages.USAGE_USAGE,
        usage_command,
        examples=("/usage", "/usage gpu-07 7d", "/usage alice 6h"),
    ),
    Command("run", run_messages.RUN_SUMMARY, run_messages.RUN_USAGE, run_command),
    Command("link", run_messages.LINK_SUMMARY, run_messages.LINK_USAGE, link_command),
    Command("mute", run_messages.MUTE_SUMMARY, run_messages.MUTE_USAGE, mute_command),
    Command("help", messages.HELP_SUMMARY, "/help", help_command, local=True),
    Command(
        "lang",
        lang_messages.LANG_SUMMARY,
        lang_messages.LANG_USAGE,
        lang_command,
        examples=("/lang", "/lang zh", "/lang en"),
    ),
    Command(
        "tip",
        tip_messages.TIP_SUMMARY,
        tip_messages.TIP_USAGE,
        tip_command,
        examples=("/tip onnx", "/tip 多GPU", "/tip zh cuda-oom", "/tip"),
        local=True,
    ),
    Command(
        "sota",
        sota_messages.SOTA_SUMMARY,
        sota_messages.SOTA_USAGE,
        sota_command,
        examples=("/sota imagenet", "/sota squad", "/sota 图像分类"),
    ),
    Command(
        "subscribe",
        subscription_messages.SUBSCRIBE_SUMMARY,
        "/subscribe",
        subscribe_command,
        admin=True,
    ),
    Command(
        "unsubscribe",
        subscription_messages.UNSUBSCRIBE_SUMMARY,
        "/unsubscribe",
        unsubscribe_command,
        admin=True,
    ),
    Command(
        "subscriptions",
        subscription_messages.SUBSCRIPTIONS_SUMMARY,
        "/subscriptions",
        subscriptions_command,
        admin=True,
    ),
    Command(
        "test_alert",
        subscription_messages.TEST_ALERT_SUMMARY,
        "/test_alert",
        test_alert_command,
        admin=True,
    ),
)

REGISTRY = Registry(COMMANDS)
