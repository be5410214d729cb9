"""Server-side CLI commands: up, serve, ask, token, db (imported only with the server extra).

The web server, the app and the local agent are imported by `serve` and `up` only, so that
`dlbot ask`, `dlbot token` and `dlbot db` answer without loading them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from dlbot.bot.platforms.running import ChatConfigError, config_problems
from dlbot.bot.redaction import redact
from dlbot.bot.render.text import table_text
from dlbot.bot.service import Service, settle_heap
from dlbot.bot.settings import Settings
from dlbot.bot.store.hosts import remove_host
from dlbot.bot.store.migrate import upgrade
from dlbot.bot.store.single_process import DatabaseInUse, single_process
from dlbot.bot.store.tokens import authenticate, create_token, list_tokens, revoke_token
from dlbot.bot.terminal import print_reply, save_images
from dlbot.wire import host_name_problem

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("dlbot")
LOCAL_TOKEN_FILE = "local-agent.token"


def dispatch(args: argparse.Namespace) -> int:
    """Run a server command; a setting or database that cannot work is one line per problem
    and exit 2 (``--debug`` shows the traceback)."""
    try:
        return _dispatch(args)
    except (ValidationError, CommandError, SQLAlchemyError, OSError) as exc:
        if args.debug:
            raise
        for line in _problems(exc):
            print(f"dlbot {args.command}: {redact(line)}", file=sys.stderr)
        return 2


class CommandError(Exception):
    """A condition the user can fix, said in one line."""


def _problems(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        # The names and what is wrong, never the values: a URL or token is a secret.
        return [
            f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
    if isinstance(exc, SQLAlchemyError | OSError):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return [f"the database cannot be used ({type(exc).__name__}: {first[:200]})"]
    return [str(exc)]


def _dispatch(args: argparse.Namespace) -> int:
    settings = Settings()
    handlers: dict[str, Callable[[argparse.Namespace, Settings], Coroutine[None, None, int]]] = {
        "up": up,
        "serve": serve,
        "ask": ask,
        "token": token,
        "host": host,
        "db": db,
        "sota": sota,
    }
    # The long-running commands use uvloop (installed with uvicorn[standard]) where it exists.
    loop_factory = _uvloop_factory() if args.command in ("serve", "up") else None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(handlers[args.command](args, settings))


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _database_label(settings: Settings) -> str:
    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


def _chat_config_ok(settings: Settings) -> bool:
    problems = config_problems(settings)
    if problems:
        print(ChatConfigError(problems), file=sys.stderr)
    return not problems


@contextlib.contextmanager
def _only_service(settings: Settings) -> Iterator[None]:
    try:
        with single_process(settings.effective_database_url):
            yield
    except DatabaseInUse as exc:
        raise CommandError(str(exc)) from None


def _port_free(host: str, port: int) -> None:
    """Say so when the port is taken, rather than uvicorn's errno after start-up."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.create_server((host, port), family=family):
            pass
    except OSError as exc:
        raise CommandError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): another dlbot or another "
            "program uses it; choose another --port"
        ) from exc


async def serve(args: argparse.Namespace, settings: Settings) -> int:
    if not _chat_config_ok(settings):
        return 2
    _port_free(args.host, args.port)
    import uvicorn

    from dlbot.bot.api.app import create_app
    from dlbot.bot.serving import GracefulServer

    service = Service.from_settings(settings)
    app = create_app(service, after_start=settle_heap)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_config=None)
    with _only_service(settings):
        log.info(
            "dlbot serve on http://%s:%d, database %s",
            args.host,
            args.port,
            _database_label(settings),
        )
        await GracefulServer(config).serve()
    return 0


async def up(args: argparse.Namespace, settings: Settings) -> int:
    if not _chat_config_ok(settings):
        return 2
    _port_free(args.host, args.port)
    with _only_service(settings):
        return await _up(args, settings)


async def _up(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from dlbot.agent.config import spool_path
    from dlbot.agent.main import AgentOptions, build_agent
    from dlbot.bot.api.app import create_app
    from dlbot.bot.serving import GracefulServer

    service = Service.from_settings(settings)
    await service.start()
    try:
        host_name = socket.gethostname()
        agent_token = await _local_agent_token(service, settings.data_dir, host_name)
        connect_host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
        server_url = f"http://{connect_host}:{args.port}"
        agent = build_agent(
            AgentOptions(
                interval=args.interval,
                gpu_backend=args.gpu_backend,
                spool_path=spool_path(settings.data_dir),
            ),
            server_url,
            agent_token,
        )
        config = uvicorn.Config(
            create_app(service, manage_lifecycle=False, after_start=settle_heap),
            host=args.host,
            port=args.port,
            log_config=None,
        )
        server = GracefulServer(config)
        agent_thread = threading.Thread(target=agent.run, name="dlbot-local-agent", daemon=True)
        # The local agent starts once the server listens, so its first report is not refused.
        banner = asyncio.create_task(
            _announce(server, agent_thread.start, server_url, settings, host_name, args)
        )
        try:
            await server.serve()
        finally:
            banner.cancel()
            agent.stop()
            if agent_thread.ident is not None:
                await asyncio.to_thread(agent_thread.join, 15)
            agent.close()
    finally:
        await service.stop()
    return 0


async def _announce(
    server: uvicorn.Server,
    start_agent: Callable[[], None],
    url: str,
    settings: Settings,
    host_name: str,
    args: argparse.Namespace,
) -> None:
    while not server.started:
        await asyncio.sleep(0.05)
    start_agent()
    print(
        f"\ndlbot is up at {url}  (database {_database_label(settings)})\n"
        f"A local agent reports this host, {host_name}, every {args.interval:g}s.\n\n"
        "Try next, in another terminal:\n"
        '  dlbot ask "/gpus"          the fleet\n'
        f'  dlbot ask "/gpus {host_name}"\n'
        '  dlbot ask "/gpus free"     free GPUs with a CUDA_VISIBLE_DEVICES line\n'
        f"  curl {url}/metrics\n"
        "Add a GPU host: `dlbot token create HOST`, then on that host\n"
        f"  dlbot agent --server {url} --token TOKEN\n",
        flush=True,
    )


async def _local_agent_token(service: Service, data_dir: Path, host_name: str) -> str:
    """The local agent's token, kept in the data dir (0600) and re-created when invalid."""
    path = data_dir / LOCAL_TOKEN_FILE
    if path.exists():
        existing = path.read_text().strip()
        principal = await authenticate(service.engine, existing)
        if principal is not None and principal.may_report_for(host_name):
            return existing
    new = await create_token(service.engine, "host", host_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(new + "\n")
    return new


async def sota(args: argparse.Namespace, settings: Settings) -> int:
    from dlbot.bot.knowledge.sota_cli import sota as import_sota

    return await import_sota(args, settings)


async def ask(args: argparse.Namespace, settings: Settings) -> int:
    service = Service.from_settings(settings)
    try:
        await upgrade(service.engine)
        reply = await service.ask(" ".join(args.text))
    finally:
        await service.engine.dispose()
    return print_reply(save_images(reply, settings.data_dir / "charts"))


async def token(args: argparse.Namespace, settings: Settings) -> int:
    service = Service.from_settings(settings)
    try:
        await upgrade(service.engine)
        return await _token(args, service)
    finally:
        await service.engine.dispose()


async def _token(args: argparse.Namespace, service: Service) -> int:
    if args.token_command == "create":
        if [bool(args.host), bool(args.fleet), bool(args.read)].count(True) != 1:
            print("give one of HOST, --fleet NAME or --read NAME", file=sys.stderr)
            return 2
        if args.host and (problem := host_name_problem(args.host)):
            print(problem, file=sys.stderr)
            return 2
        if args.fleet:
            value = await create_token(service.engine, "fleet", args.fleet)
            print(f"Fleet token {args.fleet!r} (valid for any host name). Shown only once:")
        elif args.read:
            value = await create_token(service.engine, "read", args.read)
            print(f"Read token {args.read!r} (reads the fleet, writes nothing). Shown only once:")
        else:
            value = await create_token(service.engine, "host", args.host)
            print(f"Token for host {args.host!r}. Shown only once:")
        print(value)
        return 0
    if args.token_command == "list":
        records = await list_tokens(service.engine)
        rows = tuple(
            (
                str(r.id),
                r.scope,
                r.name,
                f"{r.created_at:%Y-%m-%d %H:%M}",
                f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active",
            )
            for r in records
        )
        print(
            table_text(("id", "scope", "name", "created (UTC)", "state"), rows)
            if rows
            else "No tokens yet: dlbot token create HOST"
        )
        return 0
    if await revoke_token(service.engine, args.id):
        print(f"Token {args.id} revoked.")
        return 0
    print(f"No active token with id {args.id}.", file=sys.stderr)
    return 1


async def host(args: argparse.Namespace, settings: Settings) -> int:
    service = Service.from_settings(settings)
    try:
        await upgrade(service.engine)
        if await remove_host(service.engine, args.name):
            print(f"Host {args.name!r} removed; it reappears if it reports again.")
            return 0
        print(f"No host named {args.name!r}.", file=sys.stderr)
        return 1
    finally:
        await service.engine.dispose()


async def db(args: argparse.Namespace, settings: Settings) -> int:
    service = Service.from_settings(settings)
    try:
        before, after = await upgrade(service.engine)
    finally:
        await service.engine.dispose()
    label = _database_label(settings)
    if before == after:
        print(f"Database {label} was already at revision {after}; nothing to do.")
    else:
        print(f"Database {label} upgraded from revision {before or '(empty)'} to {after}.")
    return 0
