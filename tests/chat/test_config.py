"""Chat configuration: front ends start only when configured, and bad settings are refused."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

import pytest

from dlbot.bot.cli import main
from dlbot.bot.platforms.running import ChatConfigError, config_problems
from dlbot.bot.platforms.slack.frontend import SlackFrontEnd
from dlbot.bot.settings import Settings
from tests.chat.conftest import StartService, slash_body
from tests.fakes.slack import FakeSlack


def problems(**env: str) -> list[str]:
    return config_problems(Settings(**env))


def test_no_tokens_is_a_valid_configuration() -> None:
    assert problems() == []
    assert problems(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s") == []
    assert problems(SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1") == []


def test_bad_configurations_are_named() -> None:
    assert problems(SLACK_BOT_TOKEN="xoxb-1") == [
        "Slack HTTP mode (no SLACK_APP_TOKEN) needs SLACK_SIGNING_SECRET to verify requests; "
        "set it, or set SLACK_APP_TOKEN for Socket Mode."
    ]
    assert (
        "must be an app-level token starting with xapp-"
        in problems(SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xoxb-2")[0]
    )
    assert "starting with xoxb-" in problems(SLACK_BOT_TOKEN="xoxp-1", SLACK_SIGNING_SECRET="s")[0]
    assert "SLACK_BOT_TOKEN is missing" in problems(SLACK_APP_TOKEN="xapp-1")[0]
    webhook = problems(TELEGRAM_BOT_TOKEN="1:x", TELEGRAM_MODE="webhook")
    assert len(webhook) == 2
    assert "TELEGRAM_WEBHOOK_SECRET" in webhook[0] and "TELEGRAM_WEBHOOK_URL" in webhook[1]
    assert (
        "https://"
        in problems(
            TELEGRAM_BOT_TOKEN="1:x",
            TELEGRAM_MODE="webhook",
            TELEGRAM_WEBHOOK_SECRET="ok",
            TELEGRAM_WEBHOOK_URL="http://insecure/telegram/webhook",
        )[0]
    )
    assert (
        "may only hold"
        in problems(
            TELEGRAM_BOT_TOKEN="1:x",
            TELEGRAM_MODE="webhook",
            TELEGRAM_WEBHOOK_SECRET="no spaces!",
            TELEGRAM_WEBHOOK_URL="https://x/telegram/webhook",
        )[0]
    )


def test_lists_are_read_comma_separated_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_ALLOWED_CHATS", "-1001, 42 ,7")
    monkeypatch.setenv("DLBOT_ADMINS", "U1,123")
    settings = Settings()
    assert settings.telegram_allowed_chats == ("-1001", "42", "7")
    assert settings.admins == ("U1", "123")


@pytest.mark.parametrize("command", ["serve", "up"])
def test_dlbot_serve_and_up_refuse_bad_chat_settings(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("TELEGRAM_MODE", "webhook")
    assert main([command, "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("The chat configuration in .env is not usable:")
    assert "SLACK_SIGNING_SECRET" in err and "TELEGRAM_WEBHOOK_SECRET" in err


async def test_service_start_refuses_bad_settings(settings: Settings) -> None:
    from dlbot.bot.service import Service

    service = Service.from_settings(settings.model_copy(update={"slack_bot_token": "xoxb-1"}))
    with pytest.raises(ChatConfigError, match="SLACK_SIGNING_SECRET"):
        await service.start()
    await service.engine.dispose()


async def test_socket_mode_answers_a_slash_command(
    slack_settings: Settings,
    start_service: StartService,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = slack_settings.model_copy(
        update={"slack_app_token": "xapp-test", "slack_signing_secret": None}
    )
    caplog.set_level(logging.INFO, logger="dlbot.chat.slack")
    service = await start_service(settings)
    assert "Slack front end: Socket Mode (no public URL needed), workspace T111" in caplog.messages
    slack = service.platforms.front_ends["slack"]
    assert isinstance(slack, SlackFrontEnd) and slack.socket_mode
    (opened,) = fake_slack.calls("apps.connections.open")
    assert opened.headers["Authorization"] == "Bearer xapp-test"
    payload = dict(parse_qsl(slash_body(fake_slack, "/gpus", "").decode()))
    fake_slack.send_envelope(
        {
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": payload,
        }
    )
    (ack,) = await fake_slack.wait_for("socket")
    assert ack.params["envelope_id"] == "env-1"
    (answer,) = await fake_slack.wait_for("response_url")
    assert answer.params["response_type"] == "in_channel"
