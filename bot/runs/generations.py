"""Which run an event belongs to when a job identity is used again.

The ranks of a distributed job send one run id, a digest of their launcher's identity for the
job (``dlbot.agent.job``). A launcher may give a later job the same identity (torchrun's default
master address and port, a second job step run the same way), so the runs that share a wire id
are that identity's generations, oldest first. An event opens a new generation when it shows a
new job:

- a ``started`` event (rank 0's) when the newest generation already had one: a job has one
  rank 0;
- any event whose rank started well after the newest generation ended (``SAME_JOB_WINDOW``; a
  rank's start is its event's time less the duration it reports). The window keeps a job whose
  rank failed at once, before the others even started, one run, and allows for hosts' clocks.

Otherwise the event belongs to the newest generation its rank started within: ranks that fail
after the first failure are folded into the run they were part of. A process on its own has a
unique run id and so one generation, as it always had.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

SAME_JOB_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class Generation:
    started_at: datetime
    ended_at: datetime | None
    leader_started: bool
    """A rank-0 ``started`` event was applied (it is what sets the run's pid)."""


def rank_start(kind: str, at: datetime, duration_s: float | None) -> datetime:
    if kind in ("finished", "crashed") and duration_s:
        return at - timedelta(seconds=duration_s)
    return at


def generation_for(
    generations: Sequence[Generation], kind: str, at: datetime, duration_s: float | None
) -> int | None:
    """The index of the generation the event belongs to, or None when it opens a new one."""
    if not generations:
        return None
    newest = generations[-1]
    start = rank_start(kind, at, duration_s)
    if kind == "started" and newest.leader_started:
        return None
    if newest.ended_at is not None and start > newest.ended_at + SAME_JOB_WINDOW:
        return None
    for index in range(len(generations) - 1, 0, -1):
        previous_end = generations[index - 1].ended_at
        if previous_end is None or start >= previous_end:
            return index
    return 0


def generation_id(wire_id: str, number: int) -> str:
    """The first generation keeps the wire id; later ones get ids of their own (a digest, so
    /run's id prefixes tell them apart)."""
    if number == 0:
        return wire_id
    return hashlib.sha256(f"{wire_id} generation {number}".encode()).hexdigest()[:32]
