"""One service process per SQLite database.

SQLite has no server to coordinate replicas through: two services on one file would both run
the checks and both send the outbox. ``dlbot serve`` and ``dlbot up`` hold an exclusive lock on
``<database>.lock`` (its text is the holder's pid) for as long as they run; a second one is
refused with a message that says what to do. The operating system drops the lock when the
process ends, however it ends. Commands that do not serve (``dlbot ask``, ``dlbot token``) do
not take it. PostgreSQL coordinates replicas itself (``leadership``, the outbox's claims).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url


class DatabaseInUse(Exception):
    """Another service process serves this SQLite database."""


@contextlib.contextmanager
def single_process(database_url: str) -> Iterator[None]:
    path = _sqlite_file(database_url)
    if path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # Windows: no flock; the lock is advisory anyway
        yield
        return
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise DatabaseInUse(
                f"another dlbot service (pid {holder}) already serves {path}: SQLite takes one "
                "service process. Stop that one, or run replicas on PostgreSQL "
                "(DLBOT_DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DB)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sqlite_file(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser().resolve()
