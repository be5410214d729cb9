"""The Python API (watch, progress), rank handling and the framework callbacks, observed
through the spool they write to (no server configured, so events wait there)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dlbot import progress, watch
from dlbot.agent.spool import Spool
from dlbot.integrations import keras_callback, lightning_callback

FRAMEWORKS = Path(__file__).parent.parent / "fakes" / "frameworks"


@pytest.fixture
def spooled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DLBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    return tmp_path / "agent-spool.sqlite3"


def events(path: Path) -> list[dict[str, Any]]:
    spool = Spool(path)
    try:
        return [e.body for e in spool.peek("event", 1000, 10**9)]
    finally:
        spool.close()


def test_context_manager_reports_start_progress_and_finish(spooled: Path) -> None:
    with watch("resnet50"):
        progress(1, 10, loss=2.5)
        progress(2, 10, loss=2.0)
        progress(10, 10, loss=0.5, acc=SimpleNamespace(item=lambda: 0.91))
    found = events(spooled)
    assert [e["kind"] for e in found] == ["started", "progress", "progress", "finished"]
    assert found[0]["gpus"] == [2, 3] and found[0]["name"] == "resnet50"
    assert found[1]["step"] == 1 and found[1]["metrics"] == {"loss": 2.5}
    assert found[2]["step"] == 10, "the last step is always sent; step 2 was throttled"
    assert found[3]["metrics"] == {"loss": 0.5, "acc": 0.91}
    assert len({e["run_id"] for e in found}) == 1
    assert len({e["key"] for e in found}) == 4


def test_decorator_reports_the_crash_with_its_exception(spooled: Path) -> None:
    @watch("bert")
    def train() -> None:
        raise ValueError("Target size must be the same as input size")

    with pytest.raises(ValueError):
        train()
    crashed = events(spooled)[-1]
    assert crashed["kind"] == "crashed" and crashed["exit_code"] == 1
    assert crashed["exception"] == "ValueError: Target size must be the same as input size"
    assert "Traceback (most recent call last):" in crashed["output_tail"]


def test_only_rank_zero_reports_but_any_rank_reports_a_crash(
    spooled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RANK", "1")
    with watch("ddp"):
        progress(5, 10)
    assert events(spooled) == []
    with pytest.raises(RuntimeError), watch("ddp"):
        raise RuntimeError("NCCL watchdog timeout")
    (crash,) = events(spooled)
    assert crash["kind"] == "crashed" and crash["rank"] == 1


def test_progress_outside_a_run_is_ignored(spooled: Path) -> None:
    progress(1, 2, loss=1.0)
    assert not spooled.exists() or events(spooled) == []


def test_keras_callback_follows_fit(spooled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FRAMEWORKS))
    callback = keras_callback("mnist")
    callback.params = {"epochs": 2}
    callback.on_train_begin()
    callback.on_epoch_end(0, {"loss": 0.3})
    callback.on_epoch_end(1, {"loss": 0.1})
    callback.on_train_end()
    found = events(spooled)
    assert [e["kind"] for e in found] == ["started", "progress", "progress", "finished"]
    assert found[2]["step"] == 2 and found[2]["total"] == 2


def test_lightning_callback_reports_a_crash(spooled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FRAMEWORKS))
    callback = lightning_callback("gpt")
    trainer = SimpleNamespace(current_epoch=0, max_epochs=3, callback_metrics={"val_loss": 1.5})
    callback.on_fit_start(trainer, None)
    callback.on_train_epoch_end(trainer, None)
    try:
        raise MemoryError("CUDA out of memory")
    except MemoryError as exc:
        callback.on_exception(trainer, None, exc)
    callback.on_fit_end(trainer, None)
    found = events(spooled)
    assert [e["kind"] for e in found] == ["started", "progress", "crashed"]
    assert found[1]["metrics"] == {"val_loss": 1.5}
    assert found[2]["exception"] == "MemoryError: CUDA out of memory"
