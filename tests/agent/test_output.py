"""The output tail and the exception line, on the real PyTorch run outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlbot.agent.output import OutputTail, exception_line
from dlbot.agent.run_command import exit_status

RUNS = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "gpu" / "h100" / "training_runs.json").read_text()
)


def tail_of(*chunks: str) -> list[str]:
    tail = OutputTail()
    for chunk in chunks:
        tail.feed(chunk.encode())
    return tail.lines()


def test_real_oom_traceback_gives_the_torch_exception_line() -> None:
    lines = tail_of(RUNS["oom"]["stdout_tail"], RUNS["oom"]["stderr_tail"])
    found = exception_line(lines)
    assert found is not None
    assert found.startswith("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 16.00")


def test_real_value_error_traceback() -> None:
    lines = tail_of(RUNS["error"]["stderr_tail"])
    assert exception_line(lines) == (
        "ValueError: Target size (torch.Size([256])) must be the same as input size "
        "(torch.Size([256, 10]))"
    )


def test_finished_run_has_no_exception_and_keeps_the_last_fifty_lines() -> None:
    lines = tail_of(*(f"step {i}\n" for i in range(200)), RUNS["ok"]["stdout_tail"])
    assert exception_line(lines) is None
    assert len(lines) == 50 and lines[-1] == "done 4712"


def test_progress_bars_and_colours_are_cleaned_up() -> None:
    lines = tail_of(
        "\x1b[32mepoch 1\x1b[0m\n", " 10%|#   |\r 50%|###  |\r100%|#####|\n", "no newline"
    )
    assert lines == ["epoch 1", "100%|#####|", "no newline"]


def test_split_utf8_and_partial_lines_across_chunks() -> None:
    tail = OutputTail()
    data = "损失 0.5\n".encode()
    tail.feed(data[:2])
    tail.feed(data[2:])
    assert tail.lines() == ["损失 0.5"]


def test_a_line_half_written_on_stderr_is_not_cut_by_stdout() -> None:
    # What failed in CI: Python wrote "ValueError: " and "shapes differ" to stderr in two
    # writes, and the child's stdout (flushed at exit) landed between them.
    tail = OutputTail()
    tail.feed(b"Traceback (most recent call last):\nValueError: ", stream=2)
    tail.feed(b"epoch 1 loss 0.5\n", stream=1)
    tail.feed(b"shapes differ\n", stream=2)
    lines = tail.lines()
    assert lines == [
        "Traceback (most recent call last):",
        "epoch 1 loss 0.5",
        "ValueError: shapes differ",
    ]
    assert exception_line(lines) == "ValueError: shapes differ"


def test_nccl_error_without_traceback_is_still_found() -> None:
    lines = tail_of(
        "[rank1]: torch.distributed.DistBackendError: NCCL error in: ...\n",
        "RuntimeError: NCCL communicator was aborted\n",
        "exiting\n",
    )
    assert exception_line(lines) == "RuntimeError: NCCL communicator was aborted"


@pytest.mark.parametrize(
    ("returncode", "expected"),
    [(0, (0, None)), (3, (3, None)), (-9, (137, "SIGKILL")), (-15, (143, "SIGTERM"))],
)
def test_exit_status(returncode: int, expected: tuple[int, str | None]) -> None:
    assert exit_status(returncode) == expected
