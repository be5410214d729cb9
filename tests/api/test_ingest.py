"""POST /api/v1/reports: good input, every bad-input case, and that bad input leaves no trace."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from dlbot.bot.alerts.rules import RULES
from dlbot.bot.service import Service
from dlbot.bot.store.models import AgentToken, Gpu, GpuSample, Host, HostSample
from dlbot.bot.store.tokens import create_token, revoke_token
from dlbot.bot.wire_reports import report_from
from tests.support import T0, ingest, report

DATA_TABLES = (Host, Gpu, GpuSample, HostSample)


async def row_counts(service: Service) -> dict[str, int]:
    async with service.engine.connect() as conn:
        return {
            m.__tablename__: (await conn.execute(select(func.count()).select_from(m))).scalar_one()
            for m in DATA_TABLES
        }


EMPTY = {"hosts": 0, "gpus": 0, "gpu_samples": 0, "host_samples": 0}


@pytest.fixture
async def host_token(service: Service) -> str:
    return await create_token(service.engine, "host", "gpu-07")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_report_is_stored_and_counted(
    client: httpx.AsyncClient, service: Service, host_token: str
) -> None:
    response = await client.post("/api/v1/reports", json=report(gpus=2), headers=auth(host_token))
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "stale": 0}
    assert await row_counts(service) == {"hosts": 1, "gpus": 2, "gpu_samples": 2, "host_samples": 1}
    metrics = (await client.get("/metrics")).text
    assert "dlbot_reports_ingested_total 1.0" in metrics
    assert "dlbot_ingest_batch_seconds_count 1.0" in metrics
    assert (
        'dlbot_gpu_utilization_percent{gpu="1",host="gpu-07",'
        'model="NVIDIA H100 80GB HBM3",uuid="GPU-gpu-07-1"} 97'
    ) in metrics
    assert (
        'dlbot_gpu_power_watts{gpu="0",host="gpu-07",'
        'model="NVIDIA H100 80GB HBM3",uuid="GPU-gpu-07-0"} 624.1'
    ) in metrics
    assert 'dlbot_host_up{host="gpu-07"} 1.0' in metrics
    assert "dlbot_hosts_up 1.0" in metrics


async def test_check_durations_are_exported(client: httpx.AsyncClient, service: Service) -> None:
    assert (
        'dlbot_check_duration_seconds_count{check="host_offline"}'
        not in (await client.get("/metrics")).text
    )
    periodic = [rule for rule in RULES if rule.check is not None]
    await service.checks.run_rules(periodic)
    await service.checks.run_rules(periodic)
    metrics = (await client.get("/metrics")).text
    for check in ("host_offline", "gpu_idle", "run_stalled", "run_ended_unknown"):
        assert f'dlbot_check_duration_seconds_count{{check="{check}"}} 2.0' in metrics


async def test_batch_and_fleet_token(client: httpx.AsyncClient, service: Service) -> None:
    fleet = await create_token(service.engine, "fleet", "k8s")
    batch = [report(host=f"node-{i}", seq=1) for i in range(3)]
    response = await client.post("/api/v1/reports", json=batch, headers=auth(fleet))
    assert response.json() == {"accepted": 3, "stale": 0}
    assert (await client.get("/api/v1/fleet")).status_code == 401
    fleet_json = (await client.get("/api/v1/fleet", headers=auth(fleet))).json()
    assert sorted(h["name"] for h in fleet_json["hosts"]) == ["node-0", "node-1", "node-2"]
    assert fleet_json["hosts"][0]["gpus"][0]["processes"][0]["user"] == "alice"


async def test_older_report_does_not_overwrite_newer_state(
    client: httpx.AsyncClient, service: Service, host_token: str
) -> None:
    await client.post(
        "/api/v1/reports", json=report(seq=10, utilization=50), headers=auth(host_token)
    )
    before = await service.fleet.host("gpu-07")
    response = await client.post(
        "/api/v1/reports", json=report(seq=9, utilization=5), headers=auth(host_token)
    )
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "stale": 1}
    host = await service.fleet.host("gpu-07")
    assert host is not None and host.gpus[0].utilization_gpu == 50
    assert before is not None and host.last_seen_at > before.last_seen_at, "yet it was heard"
    counts = await row_counts(service)
    assert counts["host_samples"] == 1, "history keeps one sample a minute; this one is late"


async def test_history_keeps_one_sample_per_host_per_resolution(service: Service) -> None:
    """At 10 s reports a day of 10,000 hosts would be 691M GPU rows; one a minute is 115M."""
    assert service.settings.history_resolution_s == 60
    times = [T0 + timedelta(seconds=10 * k) for k in range(18)]
    for seq, when in enumerate(times, 1):
        await service.writer.submit([report_from(report(seq=seq, sampled_at=when))])
    await service.writer.submit([report_from(report(host="gpu-08", gpus=2))])
    minutes = len({int(when.timestamp() // 60) for when in times})
    counts = await row_counts(service)
    assert counts["host_samples"] == minutes + 1 and counts["gpu_samples"] == minutes + 2


async def test_gpus_follow_the_latest_report(service: Service) -> None:
    await ingest(service, report(seq=1, gpus=3, utilization=10))
    await ingest(service, report(seq=2, gpus=2, utilization=60), report(host="gpu-08", gpus=1))
    host = await service.fleet.host("gpu-07")
    assert host is not None
    assert [(g.index, g.utilization_gpu) for g in host.gpus] == [(0, 60), (1, 60)]
    await ingest(service, report(seq=3, gpus=0))
    host = await service.fleet.host("gpu-07")
    assert host is not None and host.gpus == ()
    other = await service.fleet.host("gpu-08")
    assert other is not None and len(other.gpus) == 1, "another host's GPUs are untouched"


async def test_duplicate_delivery_is_stored_once(
    client: httpx.AsyncClient, service: Service, host_token: str
) -> None:
    for _ in range(2):
        response = await client.post(
            "/api/v1/reports", json=report(seq=3), headers=auth(host_token)
        )
        assert response.status_code == 200
    assert (await row_counts(service))["host_samples"] == 1


async def test_gpu_that_disappears_is_removed_from_latest_state(
    client: httpx.AsyncClient, service: Service, host_token: str
) -> None:
    await client.post("/api/v1/reports", json=report(seq=1, gpus=2), headers=auth(host_token))
    await client.post("/api/v1/reports", json=report(seq=2, gpus=1), headers=auth(host_token))
    host = await service.fleet.host("gpu-07")
    assert host is not None and [g.index for g in host.gpus] == [0]


def _without(path: list[Any]) -> dict[str, Any]:
    body = report()
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    body = report()
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


BAD_BODIES = {
    "seq is text": (_with(["seq"], "many"), "seq"),
    "seq negative": (_with(["seq"], -1), "seq"),
    "missing host": (_without(["host"]), "host"),
    "naive time": (_with(["sampled_at"], "2026-11-28T01:11:37"), "sampled_at"),
    "not a time": (_with(["sampled_at"], "yesterday"), "sampled_at"),
    "utilisation 250": (_with(["gpus", 0, "utilization_gpu"], 250), "utilization_gpu"),
    "memory is a list": (_with(["gpus", 0, "memory_used_mib"], [1]), "memory_used_mib"),
    "huge memory": (_with(["gpus", 0, "memory_used_mib"], 10**30), "memory_used_mib"),
    "NUL in command": (_with(["gpus", 0, "processes", 0, "command"], "py\x00thon"), "command"),
    "control char in host": (_with(["host"], "gpu\n07"), "host"),
    "empty host": (_with(["host"], ""), "host"),
    "duplicate GPU index": (_with(["gpus"], [report()["gpus"][0]] * 2), "gpus"),
    "gpus not a list": (_with(["gpus"], {"index": 0}), "gpus"),
    "pid text": (_with(["gpus", 0, "processes", 0, "pid"], "x"), "pid"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_malformed_report_is_422_naming_the_field(
    client: httpx.AsyncClient, service: Service, host_token: str, case: str
) -> None:
    body, field = BAD_BODIES[case]
    response = await client.post("/api/v1/reports", json=body, headers=auth(host_token))
    assert response.status_code == 422, response.text
    assert field in json.dumps(response.json()["detail"])
    assert await row_counts(service) == EMPTY


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",
        b"[]",
        b"null",
        b'"text"',
        b"42",
        b'{"host": NaN}',
        json.dumps(_with(["gpus", 0, "power_w"], "NaN")).replace('"NaN"', "NaN").encode(),
    ],
)
async def test_broken_json_is_422(
    client: httpx.AsyncClient, service: Service, host_token: str, raw: bytes
) -> None:
    response = await client.post(
        "/api/v1/reports",
        content=raw,
        headers={**auth(host_token), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert await row_counts(service) == EMPTY


async def test_json_nested_too_deep_is_a_client_error(
    client: httpx.AsyncClient, service: Service, host_token: str
) -> None:
    response = await client.post(
        "/api/v1/reports",
        content=b"[" * 5000 + b"]" * 5000,
        headers={**auth(host_token), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "recursion limit" in response.text
    assert await row_counts(service) == EMPTY


async def test_missing_wrong_and_revoked_tokens_are_401(
    client: httpx.AsyncClient, service: Service, host_token: str
) -> None:
    assert (await client.post("/api/v1/reports", json=report())).status_code == 401
    wrong = await client.post("/api/v1/reports", json=report(), headers=auth("dlb_wrong"))
    assert wrong.status_code == 401
    basic = await client.post(
        "/api/v1/reports", json=report(), headers={"Authorization": "Basic dXNlcjpwdw=="}
    )
    assert basic.status_code == 401
    async with service.engine.connect() as conn:
        token_id = (await conn.execute(select(AgentToken.id))).scalar_one()
    assert await revoke_token(service.engine, token_id)
    revoked = await client.post("/api/v1/reports", json=report(), headers=auth(host_token))
    assert revoked.status_code == 401
    assert await row_counts(service) == EMPTY


async def test_no_token_with_bad_body_is_401_not_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/reports", content=b"{broken")
    assert response.status_code == 401


async def test_host_token_reporting_for_another_host_is_403(
    client: httpx.AsyncClient, service: Service, host_token: str
) -> None:
    other = await client.post(
        "/api/v1/reports", json=report(host="gpu-08"), headers=auth(host_token)
    )
    assert other.status_code == 403
    assert "gpu-07" in other.json()["detail"]
    mixed = await client.post(
        "/api/v1/reports", json=[report(), report(host="gpu-08")], headers=auth(host_token)
    )
    assert mixed.status_code == 403
    assert await row_counts(service) == EMPTY


async def test_oversize_body_is_413(
    client: httpx.AsyncClient, service: Service, host_token: str
) -> None:
    body = report()
    body["gpus"][0]["processes"][0]["command"] = "x" * 60000
    batch = [dict(body, seq=i) for i in range(1, 30)]
    response = await client.post("/api/v1/reports", json=batch, headers=auth(host_token))
    assert response.status_code == 413

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b" " * 32768

    streamed = await client.post(
        "/api/v1/reports",
        content=chunks(),
        headers={**auth(host_token), "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert await row_counts(service) == EMPTY


async def test_extra_fields_and_nulls_are_accepted(
    client: httpx.AsyncClient, service: Service, host_token: str
) -> None:
    body = report()
    body["vendor"] = "amd"
    gpu = body["gpus"][0]
    gpu.update(temperature_c=None, power_w=None, power_limit_w=None, rocm_smi={"x": 1})
    response = await client.post("/api/v1/reports", json=body, headers=auth(host_token))
    assert response.status_code == 200, response.text
    host = await service.fleet.host("gpu-07")
    assert host is not None and host.gpus[0].power_w is None


async def test_openapi_documents_the_wire_format(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert {"HostReportIn", "GpuIn", "ProcessIn", "HostMetricsIn"} <= set(schemas)
    assert "utilization_gpu" in schemas["GpuIn"]["properties"]
    assert "/api/v1/reports" in spec["paths"]


async def test_healthz(client: httpx.AsyncClient, service: Service) -> None:
    body = (await client.get("/healthz")).json()
    assert body["status"] == "ok" and body["platforms"] == {}
    if service.engine.dialect.name == "sqlite":
        assert body["leader"] is True  # one process: it leads from the start
