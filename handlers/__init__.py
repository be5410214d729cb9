"""Platform-neutral chat commands: (Invocation, Context) -> Reply.

Nothing here imports a chat SDK, a web framework or a database session: handlers read the
fleet through the query interface in ``handlers.fleet`` that the service hands in.
"""
