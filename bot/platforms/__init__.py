"""Chat platforms and alert destinations: one folder each, all listed in ``table.PLATFORMS``.

Each folder implements ``base.Platform``: its settings (a mixin of the one ``Settings``
object), a check of those settings, its sender, and where it has them a front end that runs
chat commands, its renderer, access rules and command spelling.
"""
