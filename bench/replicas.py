"""Replicas on one PostgreSQL database: alerts delivered exactly once, and leader failover.

`dlbot serve` processes on the dedicated `bench` database, wired to the fake Slack and Telegram
APIs the tests use (loopback). Three experiments:

  once      two replicas, Slack taking --slack-delay s per message (1.5 s: the case that
            doubled every alert before the outbox was claimed), --alerts crash events posted
            to the replicas in turn: deliveries per alert, and the time to deliver them all.
  failover  two replicas at the default DLBOT_CHECK_INTERVAL (10 s); SIGKILL the leader;
            seconds until the survivor's /healthz says it leads, and until it polls Telegram
            (its first getUpdates); repeated --trials times.
  mid-send  two replicas, Slack taking 1.5 s; SIGKILL the replica that is sending, as Slack
            has the message; duplicates and losses over --alerts alerts, --trials times.

    .venv/bin/python bench/replicas.py [--alerts 50] [--trials 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    BENCH_PG_URL,
    DLBOT,
    create_token,
    dlbot_env,
    free_port,
    machine,
    recreate_pg_database,
    wait_healthy,
)

from dlbot.wire import utc_now
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram

CHANNEL = "C0BENCH"
RUN = re.compile(r"train-\d{4}")


class Replica:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [DLBOT, "serve", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_healthy(self.url, self.proc)

    def leads(self) -> bool:
        try:
            return bool(httpx.get(f"{self.url}/healthz", timeout=2).json()["leader"])
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)
        self.log.close()


@contextlib.contextmanager
def cluster(
    slack: FakeSlack, telegram: FakeTelegram, **extra: str
) -> Iterator[tuple[list[Replica], str]]:
    """Two replicas on a fresh `bench` database, and a fleet token."""
    recreate_pg_database()
    with tempfile.TemporaryDirectory(prefix="dlbot-replicas-") as tmp:
        env = dlbot_env(Path(tmp), BENCH_PG_URL)
        env.update(
            SLACK_BOT_TOKEN="xoxb-bench",
            SLACK_SIGNING_SECRET="bench-secret",
            SLACK_API_URL=slack.api_url,
            SLACK_ALERT_CHANNEL=CHANNEL,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=telegram.api_url,
            DLBOT_RANKS_SETTLE_SECONDS="0",
            **extra,
        )
        subprocess.run([DLBOT, "db", "upgrade"], env=env, cwd=tmp, check=True, capture_output=True)
        token = create_token(env, "--fleet", "bench")
        replicas = [Replica(env, Path(tmp) / f"replica-{i}.log") for i in range(2)]
        try:
            yield replicas, token
        finally:
            for replica in replicas:
                replica.stop()


def post_crashes(replicas: list[Replica], token: str, first: int, count: int) -> None:
    at = (utc_now() - timedelta(seconds=5)).isoformat()
    headers = {"Authorization": f"Bearer {token}"}
    for n in range(first, first + count):
        event = {
            "key": f"job{n}:crashed",
            "run_id": f"job{n}",
            "kind": "crashed",
            "host": "gpu-07",
            "at": at,
            "name": f"train-{n:04d}",
            "exit_code": 1,
        }
        replica = replicas[n % len(replicas)]
        answer = httpx.post(f"{replica.url}/api/v1/events", json=[event], headers=headers)
        answer.raise_for_status()


def deliveries(slack: FakeSlack) -> Counter[str]:
    found: Counter[str] = Counter()
    for call in slack.calls("chat.postMessage"):
        if call.params.get("channel") == CHANNEL:
            body = call.params.get("text", "") + str(call.params.get("blocks", ""))
            found.update(set(RUN.findall(body)))
    return found


def wait_until(condition: Callable[[], bool], timeout_s: float) -> float:
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout_s:
            raise TimeoutError
        time.sleep(0.02)
    return time.monotonic() - began


def leader(replicas: list[Replica]) -> Replica:
    wait_until(lambda: sum(r.leads() for r in replicas if r.proc.poll() is None) == 1, 60)
    return next(r for r in replicas if r.proc.poll() is None and r.leads())


@contextlib.contextmanager
def fakes(slack_delay: float = 0.0) -> Iterator[tuple[FakeSlack, FakeTelegram]]:
    slack, telegram = FakeSlack(), FakeTelegram()
    slack.delays["chat.postMessage"] = slack_delay
    slack.start()
    telegram.start()
    try:
        yield slack, telegram
    finally:
        slack.stop()
        telegram.stop()


def exactly_once(args: argparse.Namespace) -> None:
    with fakes(args.slack_delay) as (slack, telegram), cluster(slack, telegram) as (rs, token):
        began = time.monotonic()
        post_crashes(rs, token, 0, args.alerts)
        took = wait_until(lambda: len(deliveries(slack)) == args.alerts, 600)
        time.sleep(args.slack_delay * 2 + 2)
        counts = deliveries(slack)
    print(
        f"once: {args.alerts} alerts, 2 replicas, Slack {args.slack_delay:g} s a message: "
        f"{sum(counts.values())} messages for {len(counts)} alerts, duplicates "
        f"{sum(v - 1 for v in counts.values())}, all delivered {took:.1f} s after the events "
        f"were posted ({time.monotonic() - began:.1f} s in all)",
        flush=True,
    )


def failover_trial() -> tuple[float, float]:
    """Seconds from SIGKILL of the leader until the survivor leads, and until it polls."""
    with fakes() as (slack, telegram), cluster(slack, telegram) as (replicas, _token):
        old = leader(replicas)
        time.sleep(3)
        killed = time.time()
        old.kill()
        survivor = next(r for r in replicas if r is not old)
        leads = wait_until(survivor.leads, 120)
        wait_until(lambda: bool(polls_since(telegram, killed)), 120)
        return leads, min(polls_since(telegram, killed)) - killed


def polls_since(telegram: FakeTelegram, moment: float) -> list[float]:
    """When getUpdates calls arrived after ``moment`` (the killed leader's have ended)."""
    return [c.received_at for c in telegram.calls("getUpdates") if c.received_at > moment]


def failover(args: argparse.Namespace) -> None:
    led, polled = [], []
    for trial in range(args.trials):
        leads, polls = failover_trial()
        led.append(leads)
        polled.append(polls)
        print(f"failover trial {trial + 1}: leads after {leads:.2f} s, polls after {polls:.2f} s")
    print(
        f"failover (DLBOT_CHECK_INTERVAL 10 s, {args.trials} trials): median leads after "
        f"{statistics.median(led):.2f} s (max {max(led):.2f}), polls Telegram after "
        f"{statistics.median(polled):.2f} s (max {max(polled):.2f})",
        flush=True,
    )


def mid_send_trial(alerts: int) -> tuple[int, int]:
    """Duplicates and losses when the replica sending the first alert is killed mid-send."""
    with (
        fakes(1.5) as (slack, telegram),
        cluster(slack, telegram, DLBOT_OUTBOX_LEASE_SECONDS="10") as (replicas, token),
    ):
        post_crashes(replicas, token, 0, alerts)
        wait_until(lambda: bool(slack.calls("chat.postMessage")), 60)
        pid = asyncio.run(_sending_pid())
        next(r for r in replicas if r.proc.pid == pid).kill()
        wait_until(lambda: len(deliveries(slack)) == alerts, 600)
        time.sleep(4)
        counts = deliveries(slack)
        return sum(v - 1 for v in counts.values()), alerts - len(counts)


def mid_send(args: argparse.Namespace) -> None:
    outcomes = [mid_send_trial(args.alerts) for _ in range(args.trials)]
    print(
        f"mid-send ({args.alerts} alerts, SIGKILL of the sending replica, {args.trials} trials):"
        f" duplicates {[d for d, _ in outcomes]}, lost {[lost for _, lost in outcomes]}",
        flush=True,
    )


async def _sending_pid() -> int:
    engine = create_async_engine(BENCH_PG_URL)
    try:
        async with engine.connect() as conn:
            query = "SELECT claimed_by FROM outbox WHERE state = 'sending' ORDER BY id LIMIT 1"
            claimed: Any = (await conn.execute(text(query))).scalar_one()
        return int(str(claimed).split(":")[1])
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=50)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--slack-delay", type=float, default=1.5)
    parser.add_argument("--only", choices=("once", "failover", "mid-send"))
    args = parser.parse_args()
    print(machine(), flush=True)
    for name, experiment in (
        ("once", exactly_once),
        ("failover", failover),
        ("mid-send", mid_send),
    ):
        if args.only in (None, name):
            experiment(args)


if __name__ == "__main__":
    main()
