"""uvicorn, stopped by SIGINT/SIGTERM without re-raising the signal afterwards.

uvicorn re-raises a captured signal once it has shut down, which kills the process before the
caller's cleanup (the local agent, the scheduler, the database pool) has run. Here the signal
only asks the server to exit; `dlbot serve` and `dlbot up` then clean up and exit with 0.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

import uvicorn


class GracefulServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {
            sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)
