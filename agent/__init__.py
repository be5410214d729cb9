"""The dlbot agent: runs on each GPU host and reports to the central service.

It imports nothing from ``bot`` or ``handlers`` so that ``pip install dlbot`` (without the
``server`` extra) is enough on a GPU host.
"""

from agent.watch import progress, watch

__all__ = ["progress", "watch"]
