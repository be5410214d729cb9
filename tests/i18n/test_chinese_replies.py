"""With DLBOT_LANGUAGE=zh the replies that matter carry no English prose: /help, /gpus on a
seeded fleet (small and large), /gpus HOST, /gpus free, /gpus wait, /runs and /run, /usage
(its summaries, its charts' alt text and its errors), usage and error replies, /lang, and every
alert kind with the daily digest. The same replies in English are caught by the same
check, and so is one English word slipped into a Chinese reply."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from dlbot.bot.render.text import render_text
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.models import Host
from dlbot.bot.store.tokens import create_token
from dlbot.handlers.alert_messages import alert_reply
from dlbot.handlers.commands import REGISTRY
from dlbot.handlers.i18n import using
from dlbot.handlers.registry import Invocation, parse
from dlbot.handlers.reply import Reply, Table, images, para
from dlbot.wire import utc_now
from tests.i18n.prose import english
from tests.support import ingest, report

HOSTS = ("gpu-07", "gpu-08", "gpu-09")
USERS = ("alice", "bob")
RUNS = ("resnet50", "bert", "llama")
GPU_MODEL = "NVIDIA H100 80GB HBM3"
NAMES = (*HOSTS, *USERS, *RUNS, GPU_MODEL, "python train.py", "loss", "cuda-oom")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"language": "zh"})


async def ask(service: Service, text: str, user: str = "U1") -> Reply:
    """A command as typed by a Slack user in channel C1."""
    words = text.split()
    invocation = Invocation(
        words[0].removeprefix("/"), tuple(words[1:]), platform="slack", user_id=user, chat_id="C1"
    )
    return await service.run_command(invocation)


def chinese(reply: Reply, names: tuple[str, ...] = NAMES) -> str:
    """The reply as text, after checking it has Chinese and no English prose."""
    text = render_text(reply)
    assert reply.language == "zh", text
    assert not english(reply, names), f"English in a Chinese reply: {english(reply, names)}\n{text}"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), text
    return text


async def seed_fleet(service: Service) -> None:
    now = utc_now()
    busy = report(host="gpu-07", seq=1, sampled_at=now, gpus=2, users=USERS)
    free = report(host="gpu-08", seq=1, sampled_at=now, gpus=2)
    for gpu in free["gpus"]:
        gpu.update(processes=[], utilization_gpu=0, memory_used_mib=2)
    await ingest(service, busy, free, report(host="gpu-09", seq=1, sampled_at=now, gpus=1))
    await went_offline(service, "gpu-09", now - timedelta(hours=3))


async def went_offline(service: Service, host: str, seen: datetime) -> None:
    async with service.engine.begin() as conn:
        await conn.execute(update(Host).where(Host.name == host).values(last_seen_at=seen))


async def test_help_and_the_fleet_in_chinese(service: Service) -> None:
    assert "/gpus" in chinese(await ask(service, "/help"), (*NAMES, "imagenet"))
    assert "GPU" in chinese(await service.ask("/gpus")), "no host yet"
    await seed_fleet(service)
    fleet = chinese(await ask(service, "/gpus"))
    assert "GPU 集群" in fleet and "3 台主机（2 台在线，1 台离线）" in fleet
    assert "主机" in fleet and "gpu-09" in fleet
    detail = chinese(await ask(service, "/gpus gpu-07"))
    assert "在线，最近上报于" in detail and "型号" in detail
    offline = chinese(await ask(service, "/gpus gpu-09"))
    assert "离线，最后上报于 3 小时 0 分钟前" in offline
    free = chinese(await ask(service, "/gpus free"))
    assert "CUDA_VISIBLE_DEVICES=0,1" in free and "1 台主机上共有 2 张空闲 GPU" in free


async def test_a_large_fleet_in_chinese(service: Service) -> None:
    now = utc_now()
    hosts = [
        report(host=f"node-{h:02d}", seq=1, sampled_at=now, gpus=2, users=(USERS[h % 2],))
        for h in range(30)
    ]
    hosts += [report(host=f"old-{h:02d}", seq=1, sampled_at=now) for h in range(12)]
    await ingest(service, *hosts)
    for h in range(12):
        await went_offline(service, f"old-{h:02d}", now - timedelta(days=3, hours=h))
    text = chinese(await ask(service, "/gpus"))
    assert "42 台主机（30 台在线，12 台离线）" in text and "离线（12）：" in text
    assert "另有 2 台" in text, "ten offline hosts listed, two more counted"


async def test_errors_and_usage_in_chinese(service: Service) -> None:
    await seed_fleet(service)
    for typed in (
        "/gpus a b",
        "/nosuch",
        "/gpus gpu-7",
        "/runs a b",
        "/mute gpu-07 5y",
        "/gpus wait 0",
        "/gpus wait 2 --for",
        "/lang fr",
        "/subscribe",
        "/run nosuchrun",
    ):
        reply = await ask(service, typed)
        assert not reply.ok, typed
        chinese(reply, (*NAMES, "nosuch", "gpu-7", "fr", "5y", "nosuchrun"))
    usage = render_text(await ask(service, "/gpus a b"))
    assert "用法：" in usage and "/gpus [主机 | free |" in usage


async def test_gpus_wait_in_chinese(service: Service) -> None:
    await seed_fleet(service)
    now_free = chinese(await ask(service, "/gpus wait 2"))
    assert "gpu-08 上现在就有 2 张空闲 GPU" in now_free
    waiting = chinese(await ask(service, "/gpus wait 4 gpu-07 --for 3h"))
    assert "gpu-07 上有 4 张 GPU 空闲时我会在这里通知你" in waiting
    assert "任意一台主机" in chinese(await ask(service, "/gpus wait 8"))
    listing = chinese(await ask(service, "/gpus wait"))
    assert "你在本聊天的 GPU 等待" in listing
    assert "已取消 2 个等待" in chinese(await ask(service, "/gpus wait cancel"))
    assert "没有在等 GPU" in chinese(await ask(service, "/gpus wait"))


async def an_hour_of_use(service: Service, host: str = "gpu-07") -> None:
    start = utc_now() - timedelta(hours=1)
    for seq, minute in enumerate(range(0, 61, 2), 1):
        at = start + timedelta(minutes=minute)
        await ingest(service, report(host=host, seq=seq, sampled_at=at, gpus=2, users=("alice",)))


async def test_usage_in_chinese(service: Service) -> None:
    nothing = chinese(await ask(service, "/usage"))
    assert "集群 最近 24h 没有 GPU 使用记录，无图可画。" in nothing
    await an_hour_of_use(service)
    await ingest(service, report(host="gpu-09", seq=1, sampled_at=utc_now() - timedelta(days=2)))

    fleet = await ask(service, "/usage")
    said = chinese(fleet)
    assert "集群最近 24h：GPU 平均利用率 97% · " in said and "用得最多：alice 2.0 小时" in said
    assert images(fleet)[0].alt == "图表：集群 最近 24h 的 GPU 利用率和显存"
    assert images(fleet)[0].filename == "usage-the_fleet-24h.png", "file names stay English"
    assert "图表：集群 最近 24h 的 GPU 利用率和显存（图片发在 Slack 和 Telegram）" in said
    host = chinese(await ask(service, "/usage gpu-07 6h"))
    assert "gpu-07 最近 6h：2 张 GPU 平均利用率 97%，显存平均共占用" in host
    user = chinese(await ask(service, "/usage 7d alice"))
    assert "alice 最近 7d：占用 2.0 GPU 小时，其中 0.0 小时占着没用。" in user
    assert "图表：alice 最近 7d 占用的 GPU" in user
    assert "gpu-09 最近 6h 没有 GPU 使用记录" in chinese(await ask(service, "/usage gpu-09 6h"))

    typos = (*NAMES, "gpu-7", "alcie", "zzzzzzz", "90d", "2x", "a", "b")
    for typed, expected in (
        ("/usage gpu-7", "没有名为 'gpu-7' 的主机或用户。你是不是要找：gpu-07"),
        ("/usage alcie", "你是不是要找：alice"),
        ("/usage zzzzzzz", "没有名为 'zzzzzzz' 的主机或用户。"),
        ("/usage gpu-07 90d", "时间窗要在 1h 到 30d 之间"),
        ("/usage 2x", "时间窗要在 1h 到 30d 之间"),
        ("/usage a b 6h", "最多给一个主机或用户，再加一个时间窗。"),
    ):
        reply = await ask(service, typed)
        assert not reply.ok, typed
        assert expected in chinese(reply, typos), typed
    usage = chinese(await ask(service, "/usage 90d"), typos)
    assert "用法：" in usage and "/usage [主机 | 用户] [6h | 24h | 7d]" in usage


def event(run_id: str, kind: str, n: int, **fields: Any) -> dict[str, Any]:
    at = utc_now() - timedelta(minutes=10) + timedelta(seconds=n)
    return {
        "key": f"{run_id}:{kind}:{n}",
        "run_id": run_id,
        "kind": kind,
        "host": "gpu-07",
        "at": at.isoformat(),
        **fields,
    }


async def test_runs_in_chinese(service: Service, client: httpx.AsyncClient) -> None:
    assert "还没有训练任务" in chinese(await ask(service, "/runs"))
    token = await create_token(service.engine, "fleet", "tests")
    started = {"user": "alice", "command": "python train.py", "gpus": [0, 1]}
    batch = [
        event("aaaa1111", "started", 1, name="resnet50", **started),
        event("aaaa1111", "progress", 2, name="resnet50", step=100, total=1000),
        event("aaaa1111", "progress", 62, name="resnet50", step=200, total=1000),
        event("bbbb2222", "started", 3, name="bert", user="bob"),
        event("bbbb2222", "crashed", 4, name="bert", user="bob", exit_code=1, output_tail="x"),
        event("cccc3333", "started", 5, name="llama", user="bob"),
        event("cccc3333", "finished", 6, name="llama", user="bob", exit_code=0),
    ]
    answer = await client.post(
        "/api/v1/events", json=batch, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.json() == {"accepted": 7, "duplicates": 0}
    runs = chinese(await ask(service, "/runs"))
    assert "训练任务" in runs and "进行中（1）：" in runs and "最近结束：" in runs
    assert "崩溃（退出码 1）" in runs and "完成" in runs and "8 分 00 秒" in runs
    assert "gpu-07 上的训练任务" in chinese(await ask(service, "/runs gpu-07"))
    detail = chinese(await ask(service, "/run aaaa"))
    assert "运行中 · 主机 gpu-07 · 用户 alice" in detail and "进度 20%，预计还需" in detail
    assert "崩溃（退出码 1）" in chinese(await ask(service, "/run bbbb"))
    muted = chinese(await ask(service, "/mute aaaa 2h"), (*NAMES, "aaaa1111"))
    assert "aaaa1111 的告警已静音，到" in muted


async def test_lang_and_admin_replies_in_chinese(service: Service) -> None:
    assert "本聊天使用中文，即 dlbot 的默认语言" in chinese(await ask(service, "/lang"))
    terminal = await service.ask("/lang zh")
    assert not terminal.ok and "DLBOT_LANGUAGE（当前为中文）" in chinese(terminal)


PAYLOADS: dict[str, dict[str, Any]] = {
    "run_finished": {
        "id": "r1",
        "name": "resnet50",
        "host": "gpu-07",
        "user": "alice",
        "duration_s": 3725.0,
        "gpus": [0, 1],
        "peak_gpu_memory_mib": 70123,
        "metrics": {"loss": 0.12},
        "mentions": {},
    },
    "run_crashed": {
        "id": "r2",
        "name": "bert",
        "host": "gpu-07",
        "user": "bob",
        "duration_s": 120.0,
        "gpus": [0],
        "exit_code": 1,
        "world_size": 4,
        "failed_rank": 2,
        "failed_host": "gpu-08",
        "failed_ranks": 1,
        "exception": "torch.OutOfMemoryError: CUDA out of memory.",
        "output_tail": "Traceback (most recent call last):\nRuntimeError: boom",
        "tip": "cuda-oom",
        "mentions": {"slack": "U42"},
    },
    "run_ended_unknown": {
        "id": "12345",
        "name": "llama",
        "host": "gpu-07",
        "pid": 12345,
        "duration_s": 4000.0,
        "gpus": [1],
        "command": "python train.py",
        "mentions": {},
    },
    "run_stalled": {"id": "r3", "name": "bert", "host": "gpu-07", "quiet_minutes": 30},
    "run_started": {
        "id": "r4",
        "name": "resnet50",
        "host": "gpu-07",
        "user": "alice",
        "gpus": [0, 1],
        "command": "python train.py",
    },
    "run_progress": {
        "id": "r4",
        "name": "resnet50",
        "host": "gpu-07",
        "milestone": 50,
        "step": 500,
        "total": 1000,
        "metrics": {"loss": 0.3},
    },
    "host_offline": {"host": "gpu-09", "last_seen_at": "2026-11-29T10:00:00+00:00"},
    "host_online": {"host": "gpu-09", "offline_minutes": 12},
    "gpu_idle": {
        "host": "gpu-07",
        "gpu_index": 3,
        "memory_used_mib": 40960,
        "utilization_gpu": 0,
        "idle_minutes": 30,
        "users": ["alice"],
    },
    "gpus_free": {"host": "gpu-08", "gpus": [0, 1, 2], "asked": 2, "mentions": {"slack": "U42"}},
    "gpus_wait_expired": {"asked": 3, "minutes": 120, "mentions": {}},
    "test": {"note": ""},
    "digest": {
        "since": "2026-11-28T07:30:00+00:00",
        "until": "2026-11-29T07:30:00+00:00",
        "date": "2026-11-29",
        "local_until": "08:30",
        "timezone": "Europe/Berlin",
        "gpu_hours": 40.0,
        "busy_hours": 31.5,
        "utilization": 62.0,
        "users": [["alice", 30.0, 4.5], ["bob", 10.0, 0.0]],
        "users_more": 2,
        "finished": [["r1", "resnet50", "gpu-07"]],
        "finished_count": 1,
        "crashed": [["r2", "bert", "gpu-08"]],
        "crashed_count": 3,
        "offline": ["gpu-09"],
        "offline_count": 2,
    },
}


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_every_alert_in_chinese(kind: str) -> None:
    with using("zh"):
        text = chinese(alert_reply(kind, PAYLOADS[kind], "slack", alert_id=7))
    assert english(alert_reply(kind, PAYLOADS[kind], "slack", alert_id=7), NAMES), "caught"
    expected = {
        "run_finished": "完成：gpu-07 上的 resnet50",
        "run_crashed": "最先失败：gpu-08 上的 rank 2 · 4 个 rank 中有 1 个失败",
        "run_ended_unknown": "已结束，退出状态未知",
        "run_stalled": "已经 30 分钟没有进度和输出",
        "run_started": "之后的进度、完成或崩溃都会回复在这条消息下面",
        "run_progress": "已完成 50%：gpu-07 上的 resnet50 · 第 500/1000 步",
        "host_offline": "主机 gpu-09 已离线",
        "host_online": "（离线 12 分钟）",
        "gpu_idle": "gpu-07 的 GPU 3 被占着却在闲置",
        "gpus_free": "gpu-08 上有 3 张 GPU 空闲了（你要 2 张）",
        "gpus_wait_expired": "2 小时 00 分内没有哪台主机空出 3 张 GPU",
        "test": "dlbot 测试告警",
        "digest": "dlbot 每日汇总 · 2026-11-29",
    }
    assert expected[kind] in text


async def test_the_check_catches_english(service: Service) -> None:
    await seed_fleet(service)
    for typed in ("/help", "/gpus", "/gpus gpu-07", "/gpus free", "/runs"):
        reply = await REGISTRY.run(parse(typed), service.context("en"))
        assert reply.language == "en" and english(reply, NAMES), typed
    zh_reply = await ask(service, "/gpus")
    assert not english(zh_reply, NAMES)
    slipped = Reply(blocks=(*zh_reply.blocks, para("集群 busy")), language="zh")
    assert english(slipped, NAMES) == ["busy"]
    one_cell = Reply(blocks=(Table(("主机", "状态"), (("gpu-07", "offline"),)),), language="zh")
    assert english(one_cell, NAMES) == ["offline"]


def test_the_digest_in_chinese() -> None:
    with using("zh"):
        text = chinese(alert_reply("digest", PAYLOADS["digest"], "slack"))
    for expected in (
        "统计截至 08:30（Europe/Berlin）的最近 24 小时。",
        "集群：40.0 GPU 小时中有 31.5 在忙，平均利用率 62%。",
        "各用户的 GPU 小时",
        "另有 2 个",
        "完成的训练任务（1）",
        "崩溃的训练任务（3）",
        "gpu-08 上的 bert `/run r2`",
        "期间离线过的主机（2）：gpu-09, 另有 1 个",
    ):
        assert expected in text, expected
    quiet = {"date": "2026-11-30", "local_until": "08:30", "timezone": "UTC"}
    with using("zh"):
        text = chinese(alert_reply("digest", quiet, "slack"))
    assert "没有 GPU 使用记录。" in text and "没有训练任务完成或崩溃。" in text
    assert "所有主机一直在线。" in text


def test_alert_buttons_in_chinese() -> None:
    with using("zh"):
        crashed = alert_reply("run_crashed", PAYLOADS["run_crashed"], "slack", alert_id=7)
        idle = alert_reply("gpu_idle", PAYLOADS["gpu_idle"] | {"user": "alice"}, "slack", 8)
    assert [b.label for b in crashed.actions] == ["静音此主机 2 小时", "查看输出末尾", "这是我的"]
    assert "静音此主机 2 小时" in [b.label for b in idle.actions]
