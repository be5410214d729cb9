"""Scoped tokens: a host token writes only its own host's data, event keys are per host, a read
token only reads, the fleet needs a token, /metrics can be protected."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from dlbot.bot.render.text import render_text
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.tokens import create_token
from dlbot.wire import utc_now
from tests.support import report


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def event(host: str, run_id: str, kind: str, key: str, **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "run_id": run_id,
        "kind": kind,
        "host": host,
        "at": (utc_now() - timedelta(minutes=1)).isoformat(),
        "name": "bert",
        **fields,
    }


async def test_a_host_token_cannot_change_another_hosts_run(
    client: httpx.AsyncClient, service: Service
) -> None:
    a = await create_token(service.engine, "host", "gpu-a")
    b = await create_token(service.engine, "host", "gpu-b")
    started = [event("gpu-b", "runb", "started", "runb:started:1", user="bob")]
    assert (await client.post("/api/v1/events", json=started, headers=auth(b))).status_code == 200
    forged = [event("gpu-a", "runb", "crashed", "runb:crashed:2", exit_code=1)]
    refused = await client.post("/api/v1/events", json=forged, headers=auth(a))
    assert refused.status_code == 403 and "runb" in refused.text
    assert "crashed" not in render_text(await service.ask("/run runb"))


async def test_one_hosts_event_keys_cannot_pre_empt_anothers(
    client: httpx.AsyncClient, service: Service
) -> None:
    a = await create_token(service.engine, "host", "gpu-a")
    b = await create_token(service.engine, "host", "gpu-b")
    squat = [event("gpu-a", "runa", "started", "runb:started:1")]
    assert (await client.post("/api/v1/events", json=squat, headers=auth(a))).status_code == 200
    real = [event("gpu-b", "runb", "started", "runb:started:1")]
    answer = await client.post("/api/v1/events", json=real, headers=auth(b))
    assert answer.json() == {"accepted": 1, "duplicates": 0}


async def test_a_read_token_reads_the_fleet_and_writes_nothing(
    client: httpx.AsyncClient, service: Service
) -> None:
    reader = await create_token(service.engine, "read", "grafana")
    assert (await client.get("/api/v1/fleet")).status_code == 401
    assert (await client.get("/api/v1/fleet", headers=auth(reader))).status_code == 200
    posted = await client.post("/api/v1/reports", json=report(), headers=auth(reader))
    assert posted.status_code == 403 and "read token" in posted.text


async def test_metrics_can_require_a_token(client: httpx.AsyncClient, service: Service) -> None:
    assert (await client.get("/metrics")).status_code == 200
    service.settings = service.settings.model_copy(
        update={"metrics_token": SecretStr("metrics-secret-1")}
    )
    assert (await client.get("/metrics")).status_code == 401
    assert (await client.get("/metrics", headers=auth("wrong"))).status_code == 401
    scraped = await client.get("/metrics", headers=auth("metrics-secret-1"))
    assert scraped.status_code == 200 and "dlbot_hosts_up" in scraped.text


def test_an_empty_metrics_token_as_in_env_example_leaves_metrics_open() -> None:
    assert Settings(DLBOT_METRICS_TOKEN="").metrics_token is None
    assert Settings(DLBOT_METRICS_TOKEN="  ").metrics_token is None


async def test_the_home_page_says_what_this_is(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "dlbot" in page.text and 'href="/metrics"' in page.text
