"""The `dlbot` command line.

Only the standard library is imported at start: `dlbot agent` must work where just the light
agent dependencies are installed. Server commands import the server on demand and say how to
install it when it is missing.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import version

SERVER_MISSING = (
    "This command needs the central service, which is not installed here. "
    'In a dlbot checkout install it with: pip install ".[server]" '
    '(or pip install "./dlbot-VERSION-py3-none-any.whl[server]" from a built wheel)'
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlbot", description="GPU fleet and training-run bot")
    parser.add_argument("--version", action="version", version=f"dlbot {version('dlbot')}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback when a command fails"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="run the server and a local agent in one process (SQLite)")
    _listen_options(up)
    up.add_argument("--interval", type=float, default=10.0, help="agent sample interval, s")
    up.add_argument("--gpu-backend", choices=("nvml", "gputil"), default="nvml")

    serve = sub.add_parser("serve", help="run the central service")
    _listen_options(serve)

    agent = sub.add_parser("agent", help="report this host's GPUs to the central service")
    agent.add_argument("--server", help="server URL (or DLBOT_SERVER_URL)")
    agent.add_argument("--token", help="agent token (or DLBOT_AGENT_TOKEN)")
    agent.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    agent.add_argument("--gpu-backend", choices=("nvml", "gputil"), default="nvml")
    agent.add_argument("--host-name", help="name to report (default: this machine's)")
    agent.add_argument("--once", action="store_true", help="sample and send once, then exit")
    agent.add_argument("--dry-run", action="store_true", help="print the report, send nothing")

    run = sub.add_parser(
        "run",
        help="run a training command and report start, progress, finish or crash",
        usage="dlbot run [--name NAME] -- COMMAND [ARGS...]",
    )
    run.add_argument("--name", help="run name shown in chat (default: the command)")
    run.add_argument("argv", nargs=argparse.REMAINDER, help="the command, after --")

    ask = sub.add_parser("ask", help='run a chat command here, e.g. dlbot ask "/gpus"')
    ask.add_argument("text", nargs="+", help="the command as typed in chat")

    token = sub.add_parser("token", help="manage agent tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_sub.add_parser("create", help="create a token (printed once)")
    create.add_argument("host", nargs="?", help="host the token may report for")
    create.add_argument("--fleet", metavar="NAME", help="a fleet token valid for any host")
    create.add_argument(
        "--read", metavar="NAME", help="a token that may only read the fleet (GET /api/v1/fleet)"
    )
    token_sub.add_parser("list", help="list tokens (never their values)")
    host = sub.add_parser("host", help="manage hosts")
    host_sub = host.add_subparsers(dest="host_command", required=True, metavar="ACTION")
    remove = host_sub.add_parser("remove", help="forget a decommissioned host (runs are kept)")
    remove.add_argument("name", help="the host's name, as /gpus shows it")
    revoke = token_sub.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("id", type=int)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply migrations")

    sota = sub.add_parser("sota", help="state-of-the-art leaderboards")
    sota_sub = sota.add_subparsers(dest="sota_command", required=True, metavar="ACTION")
    sota_import = sota_sub.add_parser(
        "import", help="load a Papers with Code evaluation-tables dump (.json or .json.gz)"
    )
    sota_import.add_argument("file", help="path of the dump")
    return parser


def _listen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=_port, default=8080, help="port to listen on (1-65535)")


def _port(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number from 1 to 65535")
    return int(value)


def _warn_of_unknown_settings() -> None:
    from dlbot.agent.config import dotenv_names
    from dlbot.agent.setting_names import unknown_settings

    for line in unknown_settings(os.environ, dotenv_names()):
        logging.getLogger("dlbot.settings").warning("%s", line)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # `dlbot run` shares the terminal with the training command: only warnings and errors.
    # `dlbot ask` prints an answer that already says what failed (an unreachable arXiv, say).
    default_level = {"run": "WARNING", "ask": "ERROR"}.get(args.command, "INFO")
    logging.basicConfig(
        level=os.environ.get("DLBOT_LOG_LEVEL", default_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    _warn_of_unknown_settings()
    # Their DEBUG lines are per request or per SQL statement (with its parameters); secrets
    # are masked in every record anyway (bot/redaction.py).
    for noisy in ("httpx", "httpcore", "alembic", "apscheduler", "sqlalchemy", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "run":
        from dlbot.agent.run_command import run as run_command

        command: list[str] = list(args.argv)
        return run_command(command[1:] if command[:1] == ["--"] else command, args.name)
    if args.command in ("agent", "up"):
        _say_if_clamped(args.interval)
    if args.command == "agent":
        from dlbot.agent.config import ConfigError
        from dlbot.agent.main import AgentOptions, run

        try:
            return run(
                AgentOptions(
                    server=args.server,
                    token=args.token,
                    interval=args.interval,
                    gpu_backend=args.gpu_backend,
                    host_name=args.host_name,
                    once=args.once,
                    dry_run=args.dry_run,
                )
            )
        except ConfigError as exc:
            print(f"dlbot agent: {exc}", file=sys.stderr)
            return 2
    if args.command == "ask":
        from dlbot.bot.terminal import answer_locally

        if (status := answer_locally(args.text)) is not None:
            return status
    try:
        from dlbot.bot import server_cli
    except ImportError as exc:
        print(f"{SERVER_MISSING} ({exc.name} is missing)", file=sys.stderr)
        return 2
    return server_cli.dispatch(args)


def _say_if_clamped(interval: float) -> None:
    from dlbot.agent.daemon import MIN_INTERVAL_S

    if interval < MIN_INTERVAL_S:
        print(
            f"dlbot: --interval {interval:g} is below {MIN_INTERVAL_S:g} s; sampling every "
            f"{MIN_INTERVAL_S:g} s (NVML averages utilisation over up to a second)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    sys.exit(main())
