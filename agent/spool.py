"""The on-disk spool: every report and run event is written here before it is sent.

A SQLite file (stdlib ``sqlite3``) gives atomic appends, order and safe sharing between the
agent and ``dlbot run`` processes on one host. Entries are deleted only after the server has
confirmed them. The spool is bounded: when samples exceed the cap the oldest samples are
dropped; run events are never dropped.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger("dlbot.agent")
Kind = Literal["sample", "event"]
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_kind ON entries (kind, id);
"""


@dataclass(frozen=True)
class SpoolEntry:
    id: int
    kind: Kind
    body: dict[str, Any]
    size: int


class Spool:
    def __init__(self, path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self.dropped_samples = 0

    def next_seq(self) -> int:
        """A sequence number that only grows for as long as this spool file lives."""
        with self._lock:
            row = self._db.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'entries'"
            ).fetchone()
        return (row[0] if row else 0) + 1

    def put(self, kind: Kind, body: dict[str, Any]) -> int:
        text = json.dumps(body, separators=(",", ":"), allow_nan=False)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT INTO entries (kind, body, size) VALUES (?, ?, ?)",
                    (kind, text, len(text)),
                )
                self._enforce_cap()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        assert cur.lastrowid is not None
        return cur.lastrowid

    def _enforce_cap(self) -> None:
        (total,) = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()
        excess = total - self.max_bytes
        if excess <= 0:
            return
        victims = []
        for entry_id, size in self._db.execute(
            "SELECT id, size FROM entries WHERE kind = 'sample' ORDER BY id"
        ):
            victims.append((entry_id,))
            excess -= size
            if excess <= 0:
                break
        self._db.executemany("DELETE FROM entries WHERE id = ?", victims)
        self.dropped_samples += len(victims)
        log.warning(
            "spool full (%d MiB): dropped the %d oldest samples (%d so far); run events are kept",
            self.max_bytes // (1024 * 1024),
            len(victims),
            self.dropped_samples,
        )

    def peek(self, kind: Kind, max_count: int, max_bytes: int) -> list[SpoolEntry]:
        """The oldest entries of one kind, at least one, within the count and byte budget."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body, size FROM entries WHERE kind = ? ORDER BY id LIMIT ?",
                (kind, max_count),
            ).fetchall()
        batch: list[SpoolEntry] = []
        used = 0
        for entry_id, body, size in rows:
            if batch and used + size > max_bytes:
                break
            batch.append(SpoolEntry(entry_id, kind, json.loads(body), size))
            used += size
        return batch

    def delete(self, ids: list[int]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM entries WHERE id = ?", [(i,) for i in ids])

    def count(self, kind: Kind | None = None) -> int:
        with self._lock:
            if kind is None:
                (n,) = self._db.execute("SELECT COUNT(*) FROM entries").fetchone()
            else:
                (n,) = self._db.execute(
                    "SELECT COUNT(*) FROM entries WHERE kind = ?", (kind,)
                ).fetchone()
        return int(n)

    def close(self) -> None:
        with self._lock:
            self._db.close()
