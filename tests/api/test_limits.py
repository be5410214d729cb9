"""Every accepted input is storable on SQLite and PostgreSQL alike: a value beyond what its
column stores, a time outside 2000-2100 or a control character in a key is a 422 naming the
field, never a 5xx (the agent would retry a 5xx forever and silence the host)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from dlbot.bot.service import Service
from dlbot.bot.store.tokens import create_token
from dlbot.wire import utc_now
from tests.support import report


@pytest.fixture
async def fleet(client: httpx.AsyncClient, service: Service) -> httpx.AsyncClient:
    client.headers["Authorization"] = f"Bearer {await create_token(service.engine, 'fleet', 'x')}"
    return client


def event(**fields: Any) -> dict[str, Any]:
    at = (utc_now() - timedelta(minutes=1)).isoformat()
    base = {"key": "r1:started:1", "run_id": "r1", "kind": "started", "host": "gpu-07"}
    return {**base, "at": at, "name": "bert", **fields}


def with_report(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    body = report()
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


REPORT_CASES = [
    (("gpu_backend",), "r" * 65, "gpu_backend"),
    (("agent_version",), "1." * 40, "agent_version"),
    (("gpus", 0, "uuid"), "GPU-" + "f" * 130, "uuid"),
    (("sampled_at",), "0001-01-01T00:30:00+01:00", "sampled_at"),
    (("sampled_at",), "9999-12-31T23:30:00-01:00", "sampled_at"),
    (("host",), "h" * 254, "host"),
    (("host",), "<!channel>", "host"),
    (("host",), "gpu 07", "host"),
    (("host",), "-gpu07", "host"),
    (("host",), "gpu07." + "a" * 64, "host"),
    (("host",), "gpu..07", "host"),
]
EVENT_CASES = [
    ({"git_commit": "a" * 65}, "git_commit"),
    ({"signal": "S" * 33}, "signal"),
    ({"key": "r1:\x00:1"}, "key"),
    ({"at": "0001-01-01T00:00:00+05:00"}, "at"),
    ({"kind": "finished", "duration_s": 1e9, "at": "2001-01-01T00:00:00Z"}, None),
]


@pytest.mark.parametrize(("path", "value", "field"), REPORT_CASES)
async def test_report_values_beyond_storage_are_422_naming_the_field(
    fleet: httpx.AsyncClient, path: tuple[str | int, ...], value: Any, field: str
) -> None:
    answer = await fleet.post("/api/v1/reports", json=with_report(path, value))
    assert answer.status_code == 422
    assert field in {str(part) for e in answer.json()["detail"] for part in e["loc"]}


@pytest.mark.parametrize(("fields", "field"), EVENT_CASES)
async def test_event_values_are_422_or_stored_never_5xx(
    fleet: httpx.AsyncClient, fields: dict[str, Any], field: str | None
) -> None:
    answer = await fleet.post("/api/v1/events", json=[event(**fields)])
    if field is None:
        assert answer.status_code == 200
        return
    assert answer.status_code == 422
    assert field in {str(part) for e in answer.json()["detail"] for part in e["loc"]}


LONGEST_HOST = ".".join(["a" * 63, "b" * 63, "c" * 63, "gpu_07-" + "d" * 54])


async def test_the_longest_values_allowed_are_stored(fleet: httpx.AsyncClient) -> None:
    assert len(LONGEST_HOST) == 253
    body = report(host=LONGEST_HOST)
    body.update(gpu_backend="rocm-smi-exporter/amd-instinct-mi300x-0001", agent_version="v" * 64)
    body["gpus"][0]["uuid"] = "GPU-" + "f" * 124
    assert (await fleet.post("/api/v1/reports", json=body)).status_code == 200
    stored = event(git_commit="a" * 64, signal="S" * 32, host=LONGEST_HOST, kind="crashed")
    assert (await fleet.post("/api/v1/events", json=[stored])).status_code == 200
