"""The fast report decoder accepts nothing that pydantic's wire models refuse, and decodes what
it accepts to the same values; what it refuses still gets pydantic's answer."""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dlbot.bot.wire_reports import (
    REPORT_BODY,
    HostReport,
    decode_reports,
    decode_strictly,
    from_model,
)

BASE: dict[str, Any] = {
    "host": "gpu-07",
    "seq": 3,
    "sampled_at": "2026-11-28T01:00:00Z",
    "gpus": [
        {
            "index": 0,
            "uuid": "GPU-5d1c0c8a",
            "name": "NVIDIA H100 80GB HBM3",
            "utilization_gpu": 97,
            "memory_used_mib": 70000,
            "memory_total_mib": 81559,
            "temperature_c": 61,
            "power_w": 624.1,
            "power_limit_w": 700.0,
            "fan_speed_percent": None,
            "processes": [
                {"pid": 4242, "user": "alice", "command": "python train.py", "gpu_memory_mib": 7}
            ],
            "error": None,
        },
        {"index": 1, "processes": []},
    ],
    "host_metrics": {"cpu_percent": 12.5, "load1": 1.2, "uptime_s": 86400, "cpu_count": 64},
    "gpu_backend": "nvml",
    "gpu_error": None,
    "agent_version": "0.1.0",
}
PATHS: list[tuple[Any, ...]] = [
    ("host",),
    ("seq",),
    ("sampled_at",),
    ("gpus",),
    ("gpus", 0),
    ("gpus", 1, "index"),
    *(("gpus", 0, key) for key in BASE["gpus"][0]),
    ("gpus", 0, "processes", 0),
    *(("gpus", 0, "processes", 0, key) for key in BASE["gpus"][0]["processes"][0]),
    ("host_metrics",),
    *(("host_metrics", key) for key in ("cpu_percent", "load1", "uptime_s", "memory_used_mib")),
    ("gpu_backend",),
    ("gpu_error",),
    ("agent_version",),
    ("extra_field",),
]
TRICKY: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    5.0,
    5.5,
    99.9,
    100,
    101,
    1023,
    1024,
    2**31,
    2**31 + 1,
    2**40 + 1,
    2**62,
    2**62 + 1,
    1e308,
    1e16,
    -0.0,
    float("nan"),
    float("inf"),
    "5",
    "",
    " ",
    "x" * 64,
    "x" * 65,
    "x" * 129,
    "x" * 257,
    "a\nb",
    "a\tb",
    "a\x00b",
    "a\x7fb",
    "a\x1bb",
    "gpu-07\n",
    "\u00a0",
    "é",
    "-gpu",
    "gpu..07",
    "gpu-07.",
    "a" * 64,
    "_a",
    "GPU_07",
    "2026-11-28T01:00:00",
    "2026-11-28T01:00:00Z",
    "2026-11-28T01:00:00+14:00",
    "2026-11-28 01:00:00Z",
    "2026-11-28t01:00:00z",
    "2026-11-28T01:00:00.123456789Z",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
    "2100-01-01T00:00:01Z",
    "2026-02-30T00:00:00Z",
    1764291600,
    [],
    [{}],
    {},
    {"pid": 1},
    {"index": 0},
    {"index": 1, "processes": []},
]


def _set(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = copy.deepcopy(value)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    report = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(PATHS))
        value = draw(st.sampled_from(TRICKY))
        with contextlib.suppress(KeyError, IndexError, TypeError):
            _set(report, path, value)  # unless an earlier mutation removed the path
    body: Any = [report] * draw(st.integers(0, 2)) if draw(st.booleans()) else report
    return json.dumps(body).encode()


def _pydantic(body: bytes) -> list[HostReport] | None:
    try:
        checked = REPORT_BODY.validate_json(body)
    except ValidationError:
        return None
    return [from_model(m) for m in (checked if isinstance(checked, list) else [checked])]


@settings(max_examples=1500, deadline=None)
@given(bodies())
def test_the_fast_path_accepts_only_what_pydantic_accepts_with_the_same_values(
    body: bytes,
) -> None:
    fast = decode_strictly(body)
    if fast is not None:
        assert _same_but_rounding(_pydantic(body), fast)


def _same_but_rounding(slow: list[HostReport] | None, fast: list[HostReport]) -> bool:
    """Equal, except that a time with more than six fractional digits is rounded to the
    microsecond by msgspec and cut by pydantic."""
    if slow is None or len(slow) != len(fast):
        return False
    return all(
        abs(a.sampled_at - b.sampled_at) <= timedelta(microseconds=1)
        and msgspec.structs.replace(a, sampled_at=b.sampled_at) == b
        for a, b in zip(slow, fast, strict=True)
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("host",), "gpu-07\n"),
        (("gpus", 0, "processes", 0, "user"), "ali\x1bce"),
        (("gpus", 0, "processes", 0, "command"), "python\x00train.py"),
        (("gpus", 1, "index"), 0),
        (("sampled_at",), "2026-11-28T01:00:00"),
        (("sampled_at",), "0001-01-01T00:00:00+05:00"),
        (("gpus", 0, "utilization_gpu"), 101),
    ],
)
def test_a_refused_body_gets_pydantics_refusal(path: tuple[Any, ...], value: Any) -> None:
    report = copy.deepcopy(BASE)
    _set(report, path, value)
    body = json.dumps(report).encode()
    assert decode_strictly(body) is None
    with pytest.raises(ValidationError):
        decode_reports(body)


def test_a_lax_spelling_pydantic_accepts_is_still_accepted() -> None:
    report = copy.deepcopy(BASE)
    report["seq"] = "5"
    report["gpus"][0]["utilization_gpu"] = 97.0
    body = json.dumps(report).encode()
    assert decode_strictly(body) is None
    (decoded,) = decode_reports(body)
    assert (decoded.seq, decoded.gpus[0].utilization_gpu) == (5, 97)


def test_an_agents_report_takes_the_fast_path() -> None:
    decoded = decode_strictly(json.dumps([BASE, {**BASE, "seq": 4}]).encode())
    assert decoded is not None
    assert [r.seq for r in decoded] == [3, 4]
    assert decoded[0].gpus[0].processes[0].user == "alice"
    assert decoded[0].host_metrics.known()["load1"] == 1.2
