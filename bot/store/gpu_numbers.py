"""A host's GPU numbers as /metrics writes them, kept with the host (``Host.gpu_numbers``).

Ingest writes them with the host's other GPU totals; a /metrics scrape reads them with the
hosts, so at 10,000 hosts it reads 10,000 rows instead of 80,000 GPU rows (on PostgreSQL that
read, sorted, competed with ingest for the same cores; BENCHMARKS.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MIB = 1024 * 1024

GPU_NUMBERS = (
    "utilization_gpu",
    "memory_used_bytes",
    "memory_total_bytes",
    "temperature_c",
    "power_w",
)
"""The numbers kept for each GPU, in the order of ``encode``'s lines."""

_SOURCES = (
    ("utilization_gpu", 1),
    ("memory_used_mib", MIB),
    ("memory_total_mib", MIB),
    ("temperature_c", 1),
    ("power_w", 1),
)
"""Where each of GPU_NUMBERS comes from in a GPU row, and its factor."""


def encode(gpus: Sequence[Mapping[str, Any]]) -> str:
    """GPU rows (``Gpu`` columns) as one line per GPU_NUMBERS field, in the rows' order: each
    GPU's value as Python writes it ("97", "3243245568", "624.1"; Prometheus's text format reads
    them), tab-separated, empty where a GPU has none. No GPUs: the empty string."""
    if not gpus:
        return ""
    return "\n".join(
        "\t".join("" if (value := gpu[source]) is None else str(value * factor) for gpu in gpus)
        for source, factor in _SOURCES
    )
