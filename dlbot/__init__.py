"""dlbot: GPU fleet and training-run bot for deep-learning teams.

The public Python API is two names: ``watch`` wraps a training run (a context manager or a
decorator) and ``progress`` reports how far it got. Keras and Lightning callbacks over the same
API live in ``dlbot.integrations``. Everything else installs beneath this one import name
(``dlbot.agent``, ``dlbot.bot``, ``dlbot.handlers``), so nothing collides with a training
repository's own ``agent.py``, ``bot.py`` or ``handlers/``. The two names are imported on first
use, so the ``dlbot`` command and the service do not load the run-reporting code.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlbot.agent.watch import progress, watch

try:
    __version__ = version("dlbot")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "progress", "watch"]


def __getattr__(name: str) -> Any:
    if name in ("progress", "watch"):
        from dlbot.agent import watch as module

        return getattr(module, name)
    raise AttributeError(f"module 'dlbot' has no attribute {name!r}")
