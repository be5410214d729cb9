"""The dlbot agent: runs on each GPU host and reports to the central service.

It imports nothing from ``dlbot.bot`` or ``dlbot.handlers``, so a GPU host needs only the base
install (``pip install .`` in a checkout, or the built wheel), without the ``server`` extra.
"""
