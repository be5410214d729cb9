"""/runs, /run, /link and /mute against runs written through the events API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dlbot.bot.platforms.slack.spelling import spell
from dlbot.bot.render.text import render_text
from dlbot.bot.service import Service
from dlbot.bot.store.run_models import Alert, Mute, UserLink
from dlbot.bot.store.tokens import create_token
from dlbot.handlers.registry import Invocation
from dlbot.wire import utc_now
from tests.support import TestBot, ingest, report


def event(run_id: str, kind: str, n: int, **fields: Any) -> dict[str, Any]:
    at = utc_now() - timedelta(minutes=10) + timedelta(seconds=n)
    return {
        "key": f"{run_id}:{kind}:{n}",
        "run_id": run_id,
        "kind": kind,
        "host": "gpu-07",
        "at": at.isoformat(),
        "name": fields.pop("name", "resnet50"),
        **fields,
    }


@pytest.fixture
async def with_runs(client: httpx.AsyncClient, service: Service) -> httpx.AsyncClient:
    token = await create_token(service.engine, "fleet", "tests")
    client.headers["Authorization"] = f"Bearer {token}"
    batch = [
        event("aaaa1111", "started", 1, user="alice", command="python train.py", gpus=[0, 1]),
        event("aaaa1111", "progress", 2, step=100, total=1000, metrics={"loss": 2.0}),
        event("aaaa1111", "progress", 62, step=200, total=1000, metrics={"loss": 1.5}),
        event("bbbb2222", "started", 3, user="bob", name="bert", host="gpu-08"),
        event(
            "bbbb2222",
            "crashed",
            4,
            user="bob",
            name="bert",
            exit_code=1,
            exception="torch.OutOfMemoryError: CUDA out of memory.",
            output_tail="a\nb",
        ),
    ]
    batch[3]["host"] = batch[4]["host"] = "gpu-08"
    response = await client.post("/api/v1/events", json=batch)
    assert response.json() == {"accepted": 5, "duplicates": 0}
    again = await client.post("/api/v1/events", json=batch[:2])
    assert again.json() == {"accepted": 0, "duplicates": 2}
    return client


async def test_runs_lists_active_with_progress_and_eta_then_ended(
    with_runs: httpx.AsyncClient, testbot: TestBot
) -> None:
    text = await testbot.ask("/runs")
    assert "resnet50" in text and "20% (200/1000)" in text and "loss=1.5" in text
    assert "8m 00s" in text, "800 steps left at 100 steps a minute"
    assert "bert" in text and "crashed (exit 1)" in text
    assert "bert" not in await testbot.ask("/runs gpu-07")


async def test_run_detail_by_id_prefix(with_runs: httpx.AsyncClient, testbot: TestBot) -> None:
    text = await testbot.ask("/run bbbb")
    assert (
        "torch.OutOfMemoryError" in text and "crashed (exit 1)" in text and "    a\n    b" in text
    )
    assert "No run with id or name 'zzzz'" in await testbot.ask("/run zzzz")
    by_name = await testbot.ask("/run bert")
    assert "torch.OutOfMemoryError" in by_name and "crashed (exit 1)" in by_name


async def test_runs_mine_needs_a_link_then_filters(
    with_runs: httpx.AsyncClient, service: Service
) -> None:
    mine = Invocation("runs", ("mine",), platform="slack", user_id="U42", spell=spell)
    assert "send /dlbot link UNIXUSER" in render_text(await service.run_command(mine))
    await service.run_command(Invocation("link", ("alice",), platform="slack", user_id="U42"))
    async with service.engine.connect() as conn:
        links = (await conn.execute(select(UserLink.unix_user, UserLink.chat_user_id))).all()
    assert [tuple(r) for r in links] == [("alice", "U42")]
    texts = render_text(await service.run_command(mine))
    assert "resnet50" in texts and "bert" not in texts


async def test_only_admins_link_other_people(service: Service) -> None:
    someone = Invocation("link", ("carol", "U9"), platform="slack", user_id="U42")
    assert not (await service.run_command(someone)).ok
    admin = Invocation("link", ("carol", "U9"), platform="slack", user_id="UA", is_admin=True)
    assert (await service.run_command(admin)).ok


async def test_mute_a_host_or_a_run_and_unmute(
    with_runs: httpx.AsyncClient, testbot: TestBot, service: Service
) -> None:
    await ingest(service, report(host="gpu-07"))
    assert "muted until" in await testbot.ask("/mute gpu-07 2h")
    assert "muted until" in await testbot.ask("/mute aaaa")
    async with service.engine.connect() as conn:
        targets = sorted((await conn.execute(select(Mute.target))).scalars())
    assert targets == ["aaaa1111", "gpu-07"]
    assert "on again" in await testbot.ask("/mute gpu-07 off")
    assert "Cannot read" in await testbot.ask("/mute gpu-07 forever")
    assert "neither a host" in await testbot.ask("/mute nothing-here")


async def test_events_from_another_host_with_a_host_token_are_refused(
    client: httpx.AsyncClient, service: Service
) -> None:
    token = await create_token(service.engine, "host", "gpu-07")
    response = await client.post(
        "/api/v1/events",
        json=[event("cccc", "started", 1, host="gpu-99")],
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    bad = await client.post(
        "/api/v1/events",
        json=[{**event("cccc", "started", 1), "kind": "exploded"}],
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bad.status_code == 422 and "kind" in bad.text
    assert "No training runs" in render_text(await service.ask("/runs"))


async def test_a_disabled_run_rule_writes_no_alert_but_keeps_the_run(
    client: httpx.AsyncClient, service: Service
) -> None:
    service.rules = service.rules - {"run_finished"}
    token = await create_token(service.engine, "fleet", "tests")
    client.headers["Authorization"] = f"Bearer {token}"
    batch = [
        event("cccc3333", "started", 1, user="carol"),
        event("cccc3333", "finished", 2, exit_code=0),
        event("dddd4444", "started", 3, user="dan"),
        event("dddd4444", "crashed", 4, exit_code=1),
    ]
    assert (await client.post("/api/v1/events", json=batch)).json()["accepted"] == 4
    async with service.engine.connect() as conn:
        kinds = (await conn.execute(select(Alert.kind))).scalars().all()
    assert kinds == ["run_crashed"]
    assert "finished" in render_text(await service.ask("/run cccc3333"))
