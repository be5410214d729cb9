"""/metrics as dashboards read it: GPU gauges with the labels people join on (dcgm-exporter's
meanings), per-user GPU memory, runs by state, the outbox's backlog and the leader flag; never a
command line."""

from __future__ import annotations

from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, update

from dlbot.bot.api.metrics import ServiceMetrics
from dlbot.bot.service import Service
from dlbot.bot.store.models import Gpu, Host
from dlbot.bot.store.run_models import Alert, OutboxRow, Run
from dlbot.wire import utc_now
from tests.support import ingest, report

H100 = "NVIDIA H100 80GB HBM3"
MIB = 1024 * 1024


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name -> (labels, value) for every sample of a Prometheus text page."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


async def test_gpu_gauges_carry_host_gpu_uuid_and_model(
    client: httpx.AsyncClient, service: Service
) -> None:
    await ingest(service, report(host="gpu-01", gpus=2))
    scraped = samples((await client.get("/metrics")).text)
    for name in (
        "dlbot_gpu_utilization_percent",
        "dlbot_gpu_memory_used_bytes",
        "dlbot_gpu_memory_total_bytes",
        "dlbot_gpu_temperature_celsius",
        "dlbot_gpu_power_watts",
    ):
        assert sorted(labels["uuid"] for labels, _ in scraped[name]) == [
            "GPU-gpu-01-0",
            "GPU-gpu-01-1",
        ]
        assert {labels["host"] for labels, _ in scraped[name]} == {"gpu-01"}
        assert {labels["model"] for labels, _ in scraped[name]} == {H100}
        assert {labels["gpu"] for labels, _ in scraped[name]} == {"0", "1"}


async def test_per_user_gpu_memory_is_summed_per_host_from_online_hosts(
    client: httpx.AsyncClient, service: Service
) -> None:
    async def take_offline(host: str) -> None:
        async with service.engine.begin() as conn:
            await conn.execute(
                update(Host)
                .where(Host.name == host)
                .values(last_seen_at=utc_now() - timedelta(hours=1))
            )

    async def held() -> dict[tuple[str, str], float]:
        scraped = samples((await client.get("/metrics")).text)
        return {
            (labels["host"], labels["user"]): value
            for labels, value in scraped["dlbot_user_gpu_memory_bytes"]
        }

    await ingest(
        service,
        report(host="gpu-01", gpus=2, users=("alice", "bob")),
        report(host="gpu-02", gpus=1, users=("alice",)),
        report(host="gpu-03", gpus=1, users=()),
        report(host="gpu-04", gpus=1, users=("carol",)),
    )
    await take_offline("gpu-04")
    # report() gives every process 520 MiB: alice and bob each run one on both GPUs of gpu-01.
    assert await held() == {
        ("gpu-01", "alice"): 2 * 520 * MIB,
        ("gpu-01", "bob"): 2 * 520 * MIB,
        ("gpu-02", "alice"): 520 * MIB,
    }
    # The worker keeps each host's samples between scrapes: a change of users, a host gone
    # offline and one back online all show in the next scrape.
    await ingest(
        service,
        report(host="gpu-01", seq=2, gpus=2, users=("carol",)),
        report(host="gpu-04", seq=2, gpus=1, users=("carol",)),
    )
    await take_offline("gpu-02")
    assert await held() == {("gpu-01", "carol"): 2 * 520 * MIB, ("gpu-04", "carol"): 520 * MIB}


async def test_runs_by_state_outbox_backlog_and_leader(
    client: httpx.AsyncClient, service: Service
) -> None:
    now = utc_now()
    async with service.engine.begin() as conn:
        await conn.execute(
            insert(Run),
            [
                {
                    "id": f"run-{i}",
                    "name": "resnet50",
                    "host": "gpu-07",
                    "command": "python train.py --secret-flag",
                    "source": "wrapped",
                    "state": state,
                    "started_at": now,
                    "last_activity_at": now,
                }
                for i, state in enumerate(("running", "running", "finished", "crashed"))
            ],
        )
        alert_id = (
            await conn.execute(
                insert(Alert)
                .values(
                    dedup_key="k1",
                    kind="test",
                    subject="gpu-07",
                    payload={},
                    created_at=now - timedelta(minutes=20),
                )
                .returning(Alert.id)
            )
        ).scalar_one()
        later = now + timedelta(days=1)  # beyond the dispatcher's reach during the test
        await conn.execute(
            insert(OutboxRow),
            [
                {
                    "alert_id": alert_id,
                    "platform": platform,
                    "chat_id": chat,
                    "state": state,
                    "attempts": 0,
                    "next_attempt_at": later,
                }
                for platform, chat, state in (
                    ("slack", "C1", "pending"),
                    ("telegram", "42", "pending"),
                    ("teams", "-", "sending"),
                    ("webhook", "-", "failed"),
                    ("discord", "-", "sent"),
                )
            ],
        )
    text = (await client.get("/metrics")).text
    scraped = samples(text)
    assert {labels["state"]: value for labels, value in scraped["dlbot_runs"]} == {
        "running": 2,
        "finished": 1,
        "crashed": 1,
    }
    assert {labels["state"]: value for labels, value in scraped["dlbot_outbox_rows"]} == {
        "pending": 2,
        "sending": 1,
        "failed": 1,
    }
    [(_, age)] = scraped["dlbot_outbox_oldest_pending_seconds"]
    assert 20 * 60 <= age < 30 * 60
    assert scraped["dlbot_leader"] == [({}, 1.0)]
    assert "train.py" not in text and "secret-flag" not in text


async def test_an_empty_store_still_exports_every_family(client: httpx.AsyncClient) -> None:
    scraped = samples((await client.get("/metrics")).text)
    assert {labels["state"]: value for labels, value in scraped["dlbot_outbox_rows"]} == {
        "pending": 0,
        "sending": 0,
        "failed": 0,
    }
    assert scraped["dlbot_outbox_oldest_pending_seconds"] == [({}, 0.0)]
    assert scraped["dlbot_hosts_up"] == [({}, 0.0)]


def test_set_leader_switches_the_gauge() -> None:
    metrics = ServiceMetrics()
    assert metrics.registry.get_sample_value("dlbot_leader") == 0.0
    metrics.set_leader(True)
    assert metrics.registry.get_sample_value("dlbot_leader") == 1.0
    metrics.set_leader(False)
    assert metrics.registry.get_sample_value("dlbot_leader") == 0.0


async def test_gpus_without_uuid_or_name_get_empty_labels(
    client: httpx.AsyncClient, service: Service
) -> None:
    """A GPU without UUID, model or power draw (an agent whose backend has none): empty labels,
    and no power sample for it while the host's other GPU has one."""
    bare = report(host="gpu-09", gpus=2, utilization=50)
    bare["gpus"][0].update(uuid=None, name=None, power_w=None)
    await ingest(service, bare)
    scraped = samples((await client.get("/metrics")).text)
    assert scraped["dlbot_gpu_utilization_percent"] == [
        ({"host": "gpu-09", "gpu": "0", "uuid": "", "model": ""}, 50),
        (
            {
                "host": "gpu-09",
                "gpu": "1",
                "uuid": "GPU-gpu-09-1",
                "model": "NVIDIA H100 80GB HBM3",
            },
            50,
        ),
    ]
    assert [labels["gpu"] for labels, _ in scraped["dlbot_gpu_power_watts"]] == ["1"]


async def test_label_values_and_numbers_survive_the_text_format(
    client: httpx.AsyncClient, service: Service
) -> None:
    """Quotes, backslashes, newlines and percent signs in a GPU's name or a user name, large
    and fractional numbers: what prometheus_client's parser reads back is what the store
    held."""
    hostile = 'H100 "SXM" \\ 80GB %s 100%\nnext'
    odd = report(host="gpu-01", gpus=1, users=('ali"ce\\',), memory_used_mib=81559)
    odd["gpus"][0].update(index=3, uuid='GPU-"x"\\', name="H100", power_w=624.125)
    odd["gpus"][0]["processes"][0]["gpu_memory_mib"] = 2**40
    await ingest(service, odd, report(host="gpu-02", gpus=1), report(host="gpu-03", gpus=0))
    async with service.engine.begin() as conn:
        # The wire format refuses control characters; a row stored before it did may hold one.
        await conn.execute(update(Gpu).values(name=hostile))
        await conn.execute(
            update(Host)
            .where(Host.name == "gpu-02")
            .values(last_seen_at=utc_now() - timedelta(hours=1))
        )
    scraped = samples((await client.get("/metrics")).text)
    labels = {"host": "gpu-01", "gpu": "3", "uuid": 'GPU-"x"\\', "model": hostile}
    assert scraped["dlbot_gpu_utilization_percent"] == [(labels, 97)]
    assert scraped["dlbot_gpu_memory_used_bytes"] == [(labels, 81559 * MIB)]
    assert scraped["dlbot_gpu_power_watts"] == [(labels, 624.125)]
    assert scraped["dlbot_user_gpu_memory_bytes"] == [
        ({"host": "gpu-01", "user": 'ali"ce\\'}, 2**40 * MIB)
    ]
    assert {labels["host"]: up for labels, up in scraped["dlbot_host_up"]} == {
        "gpu-01": 1.0,
        "gpu-02": 0.0,
        "gpu-03": 1.0,
    }
    assert scraped["dlbot_hosts_up"] == [({}, 2.0)]
