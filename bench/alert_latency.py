"""Alert latency: from a wrapped command's exit to the chat API receiving the crash message.

`dlbot serve` runs as a subprocess (SQLite) wired to a fake Slack Web API on loopback (the
one the tests use); each run is `dlbot run -- python -c ...` whose child prints its own exit
time as its last line. The crash alert carries the output tail, so the fake's receive time
minus that printed time is the latency, end to end: wrapper, spool, HTTP event, server
transaction, dispatcher, Slack sender.

    .venv/bin/python bench/alert_latency.py --runs 50
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import DLBOT, create_token, dlbot_env, dlbot_serve, free_port, machine, summarise

from tests.fakes.slack import FakeSlack

CHANNEL = "C0BENCH"
CHILD = "import time; print(f'EXIT_AT={time.time():.6f}', flush=True); raise SystemExit(1)"
EXIT_AT = re.compile(r"EXIT_AT=(\d+\.\d+)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    slack = FakeSlack()
    slack.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            env = dlbot_env(data)
            env.update(
                SLACK_BOT_TOKEN="xoxb-bench",
                SLACK_SIGNING_SECRET="bench-secret",
                SLACK_API_URL=slack.api_url,
                SLACK_ALERT_CHANNEL=CHANNEL,
            )
            token = create_token(env, "--fleet", "bench")
            port = free_port()
            with dlbot_serve(env, port):
                run_env = dlbot_env(data / "host")
                run_env.update(DLBOT_SERVER_URL=f"http://127.0.0.1:{port}", DLBOT_AGENT_TOKEN=token)
                latencies = [measure(slack, run_env, i) for i in range(args.runs)]
    finally:
        slack.stop()
    print(machine())
    print(summarise(latencies).line("child exit -> Slack chat.postMessage received"))


def measure(slack: FakeSlack, env: dict[str, str], index: int) -> float:
    subprocess.run(
        [DLBOT, "run", "--", sys.executable, "-c", CHILD],
        env=env,
        capture_output=True,
        check=False,
        timeout=60,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        calls = [
            c for c in slack.delivered("chat.postMessage") if c.params.get("channel") == CHANNEL
        ]
        if len(calls) > index:
            call = calls[index]
            found = EXIT_AT.search(str(call.params))
            assert found, "the alert shows the output tail"
            return (call.received_at - float(found.group(1))) * 1000
        time.sleep(0.005)
    raise RuntimeError(f"alert {index} did not arrive")


if __name__ == "__main__":
    main()
