"""Whatever a training loop hands to ``progress``, made into values the wire carries.

JSON has no NaN or infinity, and a NaN loss is news the team wants: non-finite numbers travel
as the strings ``"nan"``, ``"inf"`` and ``"-inf"``, which the service stores and shows as they
are. Numpy scalars and 0-d tensors become plain numbers through ``.item()``; anything else is
sent as its text. Texts and names are one line of at most 256 characters and a progress report
has at most 64 metrics (the service's limits), so nothing a user passes can get an event refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

MAX_TEXT = 256
MAX_METRICS = 64
MAX_STEP = 1e15
_BREAKS = re.compile(r"[\s\x00-\x1f\x7f]+")

MetricValue = bool | int | float | str | None


def text(value: object) -> str:
    """``str(value)`` on one line (runs of whitespace and control characters made one space),
    clipped to the service's limit; never raises."""
    try:
        shown = value if isinstance(value, str) else str(value)
    except Exception:
        shown = f"<{type(value).__name__}>"
    return _BREAKS.sub(" ", shown).strip()[:MAX_TEXT]


def number(value: float) -> float | str:
    """A float as JSON can carry it: itself, or ``"nan"``, ``"inf"``, ``"-inf"``."""
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def metric_value(value: object) -> MetricValue:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return number(value)
    if isinstance(value, str):
        return text(value)
    item = getattr(value, "item", None)
    if callable(item):
        try:
            scalar = item()
        except Exception:
            return text(value)
        if isinstance(scalar, bool | int | float):
            return metric_value(scalar)
    return text(value)


def metrics(values: Mapping[str, object]) -> dict[str, MetricValue]:
    cleaned: dict[str, MetricValue] = {}
    for name, value in values.items():
        if len(cleaned) == MAX_METRICS:
            break
        cleaned[text(name)] = metric_value(value)
    return cleaned


def step(value: object, *, positive: bool = False) -> float | None:
    """A step or total within the service's bounds (0..1e15; a total above 0), else None."""
    if value is None:
        return None
    scalar = metric_value(value)
    if isinstance(scalar, bool) or not isinstance(scalar, int | float):
        return None
    converted = float(scalar)
    if converted < 0 or converted > MAX_STEP or (positive and converted == 0):
        return None
    return converted
