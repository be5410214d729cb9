"""The on-disk spool: every report and run event is written here before it is sent.

A SQLite file (stdlib ``sqlite3``) gives atomic appends, order and safe sharing between the
agent and ``dlbot run`` processes on one host. Entries are deleted only after the server has
confirmed them.

- Bounded: past the cap the oldest samples are dropped (quarantined ones first); run events
  are never dropped.
- An entry the server refused on its own gets a strike and is held back for a while
  (``strike``), so the queue flows past it; the reporter moves it to the ``quarantine`` table
  after too many. Quarantined entries stay on disk and are counted, but are never sent again.
- A corrupt file is moved aside (``NAME.corrupt-<UTC time>``) and a new one started, with one
  warning. Anything else that makes the spool unusable (a data dir that cannot be created, a
  full disk, a lock held past the busy timeout) raises ``SpoolUnavailable``, when opening or
  from any later call, so that a caller can go on without the spool;
  ``Spool.open_or_memory`` falls back to a spool in memory.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger("dlbot.agent")
Kind = Literal["sample", "event"]
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
BUSY_TIMEOUT_S = 10.0
_CORRUPT = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        size INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS entries_kind ON entries (kind, id)",
    """CREATE TABLE IF NOT EXISTS quarantine (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        size INTEGER NOT NULL,
        tries INTEGER NOT NULL,
        reason TEXT NOT NULL,
        quarantined_at TEXT NOT NULL
    )""",
)
# Columns added after the first release: a spool file written by an older agent gains them.
_ADDED_COLUMNS = {
    "tries": "INTEGER NOT NULL DEFAULT 0",
    "hold_until": "REAL NOT NULL DEFAULT 0",
}


class SpoolUnavailable(Exception):
    """The spool cannot be opened, read or written; the message says which file and why."""


class _CorruptFile(Exception):
    """SQLite opened the file but its integrity check failed."""


def _is_corrupt(exc: Exception) -> bool:
    if isinstance(exc, _CorruptFile):
        return True
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF in _CORRUPT


@dataclass(frozen=True)
class SpoolEntry:
    id: int
    kind: Kind
    body: dict[str, Any]
    size: int
    tries: int = 0


class Spool:
    def __init__(
        self,
        path: Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        in_memory: bool = False,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.persistent = not in_memory
        self.dropped_samples = 0
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.Lock()
        self._db = self._connect(":memory:") if in_memory else self._open_file()

    @classmethod
    def open_or_memory(cls, path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Spool:
        """The spool at ``path`` or, when it is unusable, one in memory (said once)."""
        try:
            return cls(path, max_bytes)
        except SpoolUnavailable as exc:
            log.warning("%s; keeping reports in memory only until restarted", exc)
            return cls(path, max_bytes, in_memory=True)

    def _open_file(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self._connect(str(self.path))
        except OSError as exc:
            raise SpoolUnavailable(f"cannot use the spool {self.path}: {exc}") from exc
        except (sqlite3.Error, _CorruptFile) as exc:
            if not _is_corrupt(exc):
                raise SpoolUnavailable(f"cannot use the spool {self.path}: {exc}") from exc
            problem = exc
        aside = self._move_aside()
        log.warning(
            "the spool %s was corrupt (%s): moved it to %s and started a new one",
            self.path,
            problem,
            aside.name,
        )
        try:
            return self._connect(str(self.path))
        except (sqlite3.Error, _CorruptFile) as exc:
            raise SpoolUnavailable(f"cannot use the spool {self.path}: {exc}") from exc

    def _move_aside(self) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        try:
            self.path.replace(aside)
            wal = self.path.with_name(self.path.name + "-wal")
            if wal.exists():
                wal.replace(aside.with_name(aside.name + "-wal"))
            self.path.with_name(self.path.name + "-shm").unlink(missing_ok=True)
        except OSError as exc:
            raise SpoolUnavailable(
                f"cannot move the corrupt spool {self.path} aside: {exc}"
            ) from exc
        return aside

    def _connect(self, target: str) -> sqlite3.Connection:
        db = sqlite3.connect(
            target, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            if target != ":memory:":
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                (verdict,) = db.execute("PRAGMA quick_check").fetchone()
                if verdict != "ok":
                    raise _CorruptFile(verdict)
            self._create_schema(db)
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _create_schema(db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA:
                db.execute(statement)
            present = {row[1] for row in db.execute("PRAGMA table_info(entries)")}
            for name, declaration in _ADDED_COLUMNS.items():
                if name not in present:
                    db.execute(f"ALTER TABLE entries ADD COLUMN {name} {declaration}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    @contextmanager
    def _using(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise SpoolUnavailable(f"the spool {self.path} failed: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._using() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def next_seq(self) -> int:
        """A sequence number that only grows for as long as this spool file lives."""
        with self._using() as db:
            row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'entries'").fetchone()
        return (row[0] if row else 0) + 1

    def put(self, kind: Kind, body: dict[str, Any]) -> int:
        text = json.dumps(body, separators=(",", ":"), allow_nan=False)
        with self._transaction() as db:
            cur = db.execute(
                "INSERT INTO entries (kind, body, size) VALUES (?, ?, ?)",
                (kind, text, len(text)),
            )
            self._enforce_cap(db)
        assert cur.lastrowid is not None
        return cur.lastrowid

    def _enforce_cap(self, db: sqlite3.Connection) -> None:
        (total,) = db.execute(
            "SELECT (SELECT COALESCE(SUM(size), 0) FROM entries)"
            " + (SELECT COALESCE(SUM(size), 0) FROM quarantine)"
        ).fetchone()
        excess = total - self.max_bytes
        if excess <= 0:
            return
        dropped = 0
        for table in ("quarantine", "entries"):
            victims = []
            for entry_id, size in db.execute(
                f"SELECT id, size FROM {table} WHERE kind = 'sample' ORDER BY id"
            ):
                if excess <= 0:
                    break
                victims.append((entry_id,))
                excess -= size
            db.executemany(f"DELETE FROM {table} WHERE id = ?", victims)
            dropped += len(victims)
        self.dropped_samples += dropped
        log.warning(
            "spool full (%d MiB): dropped the %d oldest samples (%d so far); run events are kept",
            self.max_bytes // (1024 * 1024),
            dropped,
            self.dropped_samples,
        )

    def peek(self, kind: Kind, max_count: int, max_bytes: int) -> list[SpoolEntry]:
        """The oldest entries of one kind not held back, at least one, within the count and
        byte budget."""
        with self._using() as db:
            rows = db.execute(
                "SELECT id, body, size, tries FROM entries"
                " WHERE kind = ? AND hold_until <= ? ORDER BY id LIMIT ?",
                (kind, time.time(), max_count),
            ).fetchall()
        batch: list[SpoolEntry] = []
        used = 0
        for entry_id, body, size, tries in rows:
            if batch and used + size > max_bytes:
                break
            batch.append(SpoolEntry(entry_id, kind, json.loads(body), size, tries))
            used += size
        return batch

    def delete(self, ids: list[int]) -> None:
        with self._using() as db:
            db.executemany("DELETE FROM entries WHERE id = ?", [(i,) for i in ids])

    def strike(self, entry_id: int, hold_s: float) -> int:
        """Count a refusal against an entry and hold it back for ``hold_s``; its strikes."""
        with self._using() as db:
            db.execute(
                "UPDATE entries SET tries = tries + 1, hold_until = ? WHERE id = ?",
                (time.time() + hold_s, entry_id),
            )
            row = db.execute("SELECT tries FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return int(row[0]) if row else 0

    def quarantine(self, entry_id: int, reason: str) -> None:
        """Move an entry out of its queue for good (kept on disk, never sent again)."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO quarantine"
                " SELECT id, kind, body, size, tries, ?, ? FROM entries WHERE id = ?",
                (reason, datetime.now(UTC).isoformat(timespec="seconds"), entry_id),
            )
            db.execute("DELETE FROM entries WHERE id = ?", (entry_id,))

    def count(self, kind: Kind | None = None) -> int:
        """Entries waiting to be sent (held back ones included, quarantined ones not)."""
        return self._count("entries", kind)

    def quarantined(self, kind: Kind | None = None) -> int:
        return self._count("quarantine", kind)

    def _count(self, table: str, kind: Kind | None) -> int:
        with self._using() as db:
            if kind is None:
                (n,) = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
            else:
                (n,) = db.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE kind = ?", (kind,)
                ).fetchone()
        return int(n)

    def close(self) -> None:
        with self._lock:
            self._db.close()
