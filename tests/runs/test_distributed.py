"""The ranks of a distributed job are one run: through the events API, and end to end with one
`dlbot run` per rank as a launcher starts them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dlbot.bot.service import Service
from dlbot.bot.store.run_models import Alert, OutboxRow, Run
from dlbot.bot.store.tokens import create_token
from dlbot.wire import utc_now
from tests.runs.conftest import Stack
from tests.support import TestBot

JOB = "5f0c2d9e8b7a4c3d2e1f0a9b8c7d6e5f"
NCCL = (
    "torch.distributed.DistBackendError: NCCL error: remote process exited or there was a "
    "network error"
)
START = utc_now() - timedelta(hours=1)


def event(kind: str, rank: int, second: float, **fields: Any) -> dict[str, Any]:
    at = START + timedelta(seconds=second)
    body = {
        "key": f"{fields.pop('job_id', JOB)}:{rank}:{fields.pop('nonce', 'n1')}:{kind}:{second}",
        "run_id": fields.pop("run_id", JOB),
        "kind": kind,
        "host": "gpu-07" if rank < 2 else "gpu-08",
        "at": at.isoformat(),
        "name": "llama-ft",
        "rank": rank,
        "job": "slurm 81234.0",
        "world_size": 4,
        "user": "alice",
        **fields,
    }
    if kind in ("crashed", "finished"):
        body.setdefault("duration_s", second)
        body.setdefault("exit_code", 1 if kind == "crashed" else 0)
    return body


def crash(rank: int, second: float, exception: str, **fields: Any) -> dict[str, Any]:
    return event("crashed", rank, second, exception=exception, output_tail=exception, **fields)


@pytest.fixture
async def api(client: httpx.AsyncClient, service: Service) -> httpx.AsyncClient:
    token = await create_token(service.engine, "fleet", "tests")
    client.headers["Authorization"] = f"Bearer {token}"
    return client


async def post(api: httpx.AsyncClient, *events: dict[str, Any]) -> None:
    response = await api.post("/api/v1/events", json=list(events))
    assert response.status_code == 200, response.text


async def alerts(service: Service) -> list[tuple[str, dict[str, Any]]]:
    async with service.engine.connect() as conn:
        rows = await conn.execute(select(Alert.kind, Alert.payload).order_by(Alert.id))
        return [(row.kind, row.payload) for row in rows]


async def runs(service: Service) -> list[dict[str, Any]]:
    async with service.engine.connect() as conn:
        rows = await conn.execute(select(Run.__table__).order_by(Run.started_at))
        return [dict(row._mapping) for row in rows]


async def test_one_run_and_one_alert_naming_the_first_failure(
    api: httpx.AsyncClient, service: Service, testbot: TestBot
) -> None:
    await post(api, event("started", 0, 0, pid=4100, command="python train.py"))
    # Rank 3's NCCL error arrives first, but rank 1 failed earlier: rank 1 is the first failure.
    await post(api, crash(3, 100, NCCL))
    await post(api, crash(1, 60, "ValueError: shapes differ"))
    await post(api, crash(2, 130, NCCL), crash(0, 140, NCCL))
    (run,) = await runs(service)
    assert (run["failed_rank"], run["failed_host"], run["failed_ranks"]) == (1, "gpu-07", 4)
    assert run["exception"] == "ValueError: shapes differ" and run["host"] == "gpu-07"
    (alert,) = await alerts(service)
    assert alert[0] == "run_crashed"
    assert alert[1]["failed_rank"] == 1 and alert[1]["failed_ranks"] == 4
    assert alert[1]["exception"] == "ValueError: shapes differ"
    detail = await testbot.ask(f"/run {run['id'][:8]}")
    assert "first failure: rank 1 on gpu-07 · 4 of 4 ranks failed" in detail
    assert "job slurm 81234.0 · 4 ranks" in detail
    listing = await testbot.ask("/runs")
    assert "crashed (exit 1; rank 1 first, 4/4 failed)" in listing
    assert listing.count("llama-ft") == 1 and "?" not in listing.split("Recently ended")[1]


async def test_rank_zero_finishing_finishes_the_job_once(
    api: httpx.AsyncClient, service: Service
) -> None:
    await post(api, event("started", 0, 0, pid=4100), event("finished", 0, 50))
    await post(api, crash(2, 55, NCCL))
    (run,) = await runs(service)
    assert run["state"] == "finished" and run["failed_ranks"] == 1
    assert [kind for kind, _ in await alerts(service)] == ["run_finished"]


async def test_a_job_identity_used_again_is_a_new_run(
    api: httpx.AsyncClient, service: Service, testbot: TestBot
) -> None:
    await post(api, event("started", 0, 0, pid=4100), crash(3, 30, "OSError: disk"))
    await post(api, crash(0, 35, NCCL))
    # The same launcher identity an hour later (torchrun's default master port).
    await post(api, event("started", 0, 600, pid=5200, nonce="n2"))
    await post(api, crash(1, 640, NCCL, nonce="n2", duration_s=39.0))
    await post(api, crash(2, 700, "KeyError: 'lr'", nonce="n2", duration_s=90.0))
    first, second = await runs(service)
    assert first["id"] == JOB and first["failed_ranks"] == 2 and first["failed_rank"] == 3
    assert second["id"] != JOB and second["wire_id"] == JOB
    assert second["failed_rank"] == 1 and second["failed_ranks"] == 2
    assert [kind for kind, _ in await alerts(service)] == ["run_crashed", "run_crashed"]
    assert "OSError: disk" in await testbot.ask(f"/run {first['id'][:8]}")
    assert NCCL[:40] in await testbot.ask(f"/run {second['id'][:8]}")


async def test_a_single_process_run_is_as_before(
    api: httpx.AsyncClient, service: Service, testbot: TestBot
) -> None:
    single = {"run_id": "a1b2c3d4", "job_id": "a1b2c3d4"}
    alone = [
        {k: v for k, v in event(kind, 0, s, **single).items() if k not in ("job", "world_size")}
        for kind, s in (("started", 0), ("progress", 5))
    ]
    ended = crash(0, 9, "ValueError: x", **single)
    del ended["job"], ended["world_size"]
    await post(api, *alone, ended)
    (run,) = await runs(service)
    assert run["id"] == "a1b2c3d4" and run["state"] == "crashed" and run["world_size"] is None
    listing = await testbot.ask("/runs")
    assert "crashed (exit 1)" in listing and "rank" not in listing


async def test_a_command_that_failed_to_start_is_shown_and_alerts_nobody(
    api: httpx.AsyncClient, service: Service, testbot: TestBot
) -> None:
    failed = {
        "key": "f00d:failed_to_start:1",
        "run_id": "f00d",
        "kind": "failed_to_start",
        "host": "gpu-07",
        "at": START.isoformat(),
        "name": "trian.py",
        "user": "bob",
        "command": "trian.py --lr 3e-4",
        "exit_code": 127,
        "exception": "FileNotFoundError: [Errno 2] No such file or directory: 'trian.py'",
    }
    await post(api, failed)
    assert await alerts(service) == []
    listing = await testbot.ask("/runs")
    assert "trian.py" in listing and "failed to start" in listing
    detail = await testbot.ask("/run f00d")
    assert "trian.py (f00d)" in detail and "failed to start · host gpu-07" in detail
    assert "No such file or directory" in detail


async def test_nan_and_infinity_are_stored_and_shown(
    api: httpx.AsyncClient, service: Service, testbot: TestBot
) -> None:
    single = {"run_id": "b0b0", "job_id": "b0b0"}
    spelled = event("progress", 0, 5, step=5, total=10, metrics={"loss": "nan"}, **single)
    await post(api, event("started", 0, 0, **single), spelled)
    # A client whose JSON writer lets a bare NaN through is understood too.
    bare = (
        '[{"key": "b0b0:0:n1:progress:6", "run_id": "b0b0", "kind": "progress", '
        f'"host": "gpu-07", "at": "{(START + timedelta(seconds=6)).isoformat()}", '
        '"name": "llama-ft", "step": 6, "total": 10, '
        '"metrics": {"grad_norm": Infinity, "val_loss": NaN}}]'
    )
    response = await api.post(
        "/api/v1/events", content=bare, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    (run,) = await runs(service)
    assert run["metrics"] == {"loss": "nan", "grad_norm": "inf", "val_loss": "nan"}
    assert "loss=nan grad_norm=inf val_loss=nan" in await testbot.ask("/runs")


RANK_SCRIPT = """
import os, sys, time
rank, outcome, diverged = int(sys.argv[1]), sys.argv[3], sys.argv[4]
if rank == 2 and outcome == "crash":
    open(diverged, "w").close()
    raise ValueError("rank 2 diverged")
if outcome == "crash":  # the others fail after it, however late a loaded machine started it
    while not os.path.exists(diverged):
        time.sleep(0.05)
time.sleep(float(sys.argv[2]))
if outcome == "crash":
    print("{nccl}", file=sys.stderr)
    sys.exit(1)
""".replace("{nccl}", NCCL)


def launch(stack: Stack, outcome: str, port: str) -> list[subprocess.Popen[bytes]]:
    """Four ranks, as torchrun's static rendezvous starts them (the same master address)."""
    ranks = []
    stack.agent_dir.mkdir(parents=True, exist_ok=True)
    for rank in range(4):
        env = stack.env(
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=port,
            WORLD_SIZE="4",
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            TORCHELASTIC_RUN_ID="none",
        )
        wait = "0" if outcome == "finish" else "1.5"
        diverged = str(stack.agent_dir / f"diverged-{port}-{outcome}")
        command = [sys.executable, "-c", RANK_SCRIPT, str(rank), wait, outcome, diverged]
        ranks.append(
            subprocess.Popen(
                [sys.executable, "-m", "dlbot", "run", "--name", "ddp", "--", *command],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return ranks


async def test_four_ranks_are_one_run_with_one_crash_alert_then_a_new_job_finishes(
    stack: Stack,
) -> None:
    ranks = launch(stack, "crash", "29511")
    codes = [await asyncio.to_thread(rank.wait, 60) for rank in ranks]
    assert codes == [1, 1, 1, 1]
    slack, telegram = await stack.wait_alerts(1, timeout=60)
    for text in (slack[0], telegram[0]):
        assert "Crashed: ddp" in text and "ValueError: rank 2 diverged" in text
        assert "First failure: rank 2 on" in text and "4 of 4 ranks failed" in text
    await asyncio.sleep(2)
    assert (len(stack.slack_alerts()), len(stack.telegram_alerts())) == (1, 1)

    again = launch(stack, "finish", "29511")
    await asyncio.gather(*(asyncio.to_thread(rank.wait, 60) for rank in again))
    slack, _ = await stack.wait_alerts(2, timeout=60)
    assert "Finished: ddp" in slack[1]
    text = await stack.ask("/runs")
    assert text.count("ddp") == 2 and "rank 2 first, 4/4 failed" in text
    service = Service.from_settings(stack.settings)
    async with service.engine.connect() as conn:
        users = (await conn.execute(select(Run.user))).scalars().all()
        crash_alert = (
            await conn.execute(
                select(Alert.created_at, OutboxRow.sent_at)
                .join(OutboxRow, OutboxRow.alert_id == Alert.id)
                .where(Alert.kind == "run_crashed")
            )
        ).all()
    await service.engine.dispose()
    assert len(users) == 2 and all(users), "every rank says whose run it is"
    assert all(sent - created >= timedelta(seconds=4.9) for created, sent in crash_alert), (
        "the crash alert waited for the other ranks"
    )
