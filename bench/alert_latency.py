"""Alert latency: from a wrapped command's exit to the chat API receiving the crash message.

`dlbot serve` runs as a subprocess (SQLite) wired to fake Slack and Telegram APIs on loopback
(the ones the tests use); each run is `dlbot run -- python -c ...` whose child prints its own
exit time as its last line. The crash alert carries the output tail, so the fake's receive
time minus that printed time is the latency, end to end: wrapper, spool, HTTP event, server
transaction, dispatcher, sender.

    .venv/bin/python bench/alert_latency.py --runs 50
    .venv/bin/python bench/alert_latency.py --runs 20 --slack-rate-limited

With ``--slack-rate-limited`` Slack answers every call with 429 and ``Retry-After: 60``, and
the figure is the time to the Telegram message: one destination's rate limit must not delay
another's alerts.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import DLBOT, create_token, dlbot_env, dlbot_serve, free_port, machine, summarise

from tests.fakes.server import Call
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram

CHANNEL = "C0BENCH"
CHAT = "-1009999"
CHILD = "import time; print(f'EXIT_AT={time.time():.6f}', flush=True); raise SystemExit(1)"
EXIT_AT = re.compile(r"EXIT_AT=(\d+\.\d+)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--slack-rate-limited", action="store_true")
    args = parser.parse_args()
    slack, telegram = FakeSlack(), FakeTelegram()
    slack.start()
    telegram.start()
    if args.slack_rate_limited:
        slack.fail("chat.postMessage", 429, retry_after=60, error="ratelimited", times=10**6)
        received, label = _calls(telegram, "sendMessage", "chat_id", CHAT), "Telegram sendMessage"
    else:
        received, label = _calls(slack, "chat.postMessage", "channel", CHANNEL), "Slack message"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            env = dlbot_env(data)
            env.update(
                SLACK_BOT_TOKEN="xoxb-bench",
                SLACK_SIGNING_SECRET="bench-secret",
                SLACK_API_URL=slack.api_url,
                SLACK_ALERT_CHANNEL=CHANNEL,
                TELEGRAM_BOT_TOKEN=TOKEN,
                TELEGRAM_API_URL=telegram.api_url,
                TELEGRAM_ALERT_CHAT=CHAT,
            )
            token = create_token(env, "--fleet", "bench")
            port = free_port()
            with dlbot_serve(env, port):
                run_env = dlbot_env(data / "host")
                run_env.update(DLBOT_SERVER_URL=f"http://127.0.0.1:{port}", DLBOT_AGENT_TOKEN=token)
                latencies = [measure(received, run_env, i) for i in range(args.runs)]
            slack_tries = len(slack.calls("chat.postMessage"))
    finally:
        slack.stop()
        telegram.stop()
    print(machine())
    print(summarise(latencies).line(f"child exit -> {label} received"))
    if args.slack_rate_limited:
        print(f"Slack chat.postMessage attempts meanwhile: {slack_tries} (all answered 429)")


def _calls(
    fake: FakeSlack | FakeTelegram, method: str, key: str, chat: str
) -> Callable[[], list[Call]]:
    return lambda: [c for c in fake.delivered(method) if str(c.params.get(key)) == chat]


def measure(received: Callable[[], list[Call]], env: dict[str, str], index: int) -> float:
    subprocess.run(
        [DLBOT, "run", "--", sys.executable, "-c", CHILD],
        env=env,
        capture_output=True,
        check=False,
        timeout=60,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        calls = received()
        if len(calls) > index:
            call = calls[index]
            found = EXIT_AT.search(str(call.params))
            assert found, "the alert shows the output tail"
            return (call.received_at - float(found.group(1))) * 1000
        time.sleep(0.005)
    raise RuntimeError(f"alert {index} did not arrive")


if __name__ == "__main__":
    main()
