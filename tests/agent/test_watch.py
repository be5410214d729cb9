"""The Python API (watch, progress), rank handling and the framework callbacks, observed
through the spool they write to (no server configured, so events wait there)."""

from __future__ import annotations

import sys
import time
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


class FakeScalar:
    """A numpy scalar or a 0-d torch tensor, as far as dlbot can tell: ``.item()``."""

    def __init__(self, value: float) -> None:
        self.value = value

    def item(self) -> float:
        return self.value


class FakeMatrix:
    """A tensor of several elements: ``.item()`` refuses, and its text spans lines."""

    def item(self) -> float:
        raise RuntimeError("a Tensor with 4 elements cannot be converted to Scalar")

    def __str__(self) -> str:
        return "tensor([[1., 2.],\n        [3., 4.]])" + " " * 1000


class Hostile:
    """Raises on any attribute lookup, as a broken proxy object can."""

    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError("hostile")


def test_nan_inf_tensors_and_any_object_never_raise(spooled: Path) -> None:
    with watch("nan-run"):
        progress(
            1,
            10,
            loss=float("nan"),
            grad=float("inf"),
            low=float("-inf"),
            acc=FakeScalar(0.5),
            scaled=FakeScalar(float("nan")),
            weights=FakeMatrix(),
            anything=object(),
            step_count=3,
        )
    found = events(spooled)
    assert [e["kind"] for e in found] == ["started", "progress", "finished"]
    metrics = found[1]["metrics"]
    assert metrics["loss"] == "nan" and metrics["grad"] == "inf" and metrics["low"] == "-inf"
    assert metrics["acc"] == 0.5 and metrics["scaled"] == "nan" and metrics["step_count"] == 3
    assert metrics["weights"].startswith("tensor([[1., 2.], [3., 4.]])")
    assert "\n" not in metrics["weights"] and len(metrics["weights"]) <= 256
    assert metrics["anything"].startswith("<object object at")
    assert found[2]["metrics"]["loss"] == "nan"


def test_a_failure_inside_progress_is_swallowed_and_logged_once(
    spooled: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with watch("hostile"):
        progress(Hostile(), 10)  # type: ignore[arg-type]
        progress(1, 10, loss=Hostile())
        progress(10, 10, loss=0.25)
    found = events(spooled)
    assert [e["kind"] for e in found] == ["started", "progress", "finished"]
    assert found[1]["step"] == 10 and found[1]["metrics"] == {"loss": 0.25}
    failures = [r for r in caplog.records if "progress() failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None


@pytest.mark.parametrize(
    ("exit_with", "kind", "exit_code", "signal"),
    [
        (SystemExit(0), "finished", 0, None),
        (SystemExit(), "finished", 0, None),
        (SystemExit(None), "finished", 0, None),
        (SystemExit(3), "crashed", 3, None),
        (SystemExit("bad config"), "crashed", 1, None),
        (KeyboardInterrupt(), "crashed", 130, "SIGINT"),
    ],
)
def test_exits_are_read_as_the_shell_would(
    spooled: Path, exit_with: BaseException, kind: str, exit_code: int, signal: str | None
) -> None:
    with pytest.raises(type(exit_with)), watch("exits"):
        raise exit_with
    ended = events(spooled)[-1]
    assert (ended["kind"], ended["exit_code"]) == (kind, exit_code)
    assert ended.get("signal") == signal


def test_sys_exit_inside_a_decorated_function(spooled: Path) -> None:
    @watch("cli")
    def main() -> None:
        sys.exit()

    with pytest.raises(SystemExit):
        main()
    assert events(spooled)[-1]["kind"] == "finished"


def test_the_latest_progress_follows_within_the_interval_and_at_exit(spooled: Path) -> None:
    interval = 0.4
    with watch("trailing", progress_every_s=interval):
        progress(1, 100, loss=3.0)
        progress(2, 100, loss=2.0)
        progress(3, 100, loss=1.0)
        sent = [e["step"] for e in events(spooled) if e["kind"] == "progress"]
        assert sent == [1], "the first value goes at once, the next ones are held back"
        time.sleep(interval * 2.5)
        sent = [e["step"] for e in events(spooled) if e["kind"] == "progress"]
        assert sent == [1, 3], "only the latest held-back value follows, within the interval"
        progress(4, 100, loss=0.5)
        progress(5, 100, loss=0.25)
    found = events(spooled)
    assert [e["kind"] for e in found][-2:] == ["progress", "finished"]
    assert found[-2]["step"] == 5 and found[-2]["metrics"] == {"loss": 0.25}


def test_a_data_dir_that_is_a_file_still_runs_the_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("a file, not a directory")
    monkeypatch.setenv("DLBOT_DATA_DIR", str(not_a_dir))
    steps = []
    for _ in range(2):
        with watch("no-spool"):
            progress(1, 2, loss=float("nan"))
            steps.append(1)
    assert steps == [1, 1]
    warnings = [line for line in capsys.readouterr().err.splitlines() if "dlbot" in line]
    assert len(warnings) == 1, "warned once, not once a block"
    assert f"{not_a_dir} is not a directory" in warnings[0] and "not reported" in warnings[0]


def test_a_corrupt_spool_file_still_runs_the_training(
    spooled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spooled.write_bytes(bytes(range(256)) * 64)
    ran = False
    with watch("corrupt"):
        progress(1, 2)
        ran = True
    assert ran
    assert len([line for line in capsys.readouterr().err.splitlines() if str(spooled) in line]) <= 1


def test_ranks_of_one_job_share_a_run_and_keep_their_keys_apart(
    spooled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "none")
    monkeypatch.setenv("MASTER_ADDR", "10.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29500")
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank in ("0", "1"):
        monkeypatch.setenv("RANK", rank)
        with pytest.raises(RuntimeError), watch("ddp"):
            raise RuntimeError(f"rank {rank} failed")
    found = events(spooled)
    assert [(e["kind"], e["rank"]) for e in found] == [
        ("started", 0),
        ("crashed", 0),
        ("crashed", 1),
    ]
    assert len({e["run_id"] for e in found}) == 1
    assert {e["job"] for e in found} == {"master 10.0.0.1:29500 world 2"}
    assert {e["world_size"] for e in found} == {2}
    assert {e["key"].split(":")[1] for e in found} == {"0", "1"}, "keys name the rank"
    assert all(e["user"] for e in found if e["kind"] == "crashed")
