"""`dlbot agent`: build the agent from options and run it until SIGTERM/SIGINT."""

from __future__ import annotations

import json
import logging
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from dlbot.agent import config
from dlbot.agent.daemon import Agent, Sampler
from dlbot.agent.gpu import open_backend
from dlbot.agent.reporter import Outcome, Problem, Reporter
from dlbot.agent.spool import Spool
from dlbot.wire import host_name_problem

log = logging.getLogger("dlbot.agent")


@dataclass(frozen=True)
class AgentOptions:
    server: str | None = None
    token: str | None = None
    interval: float = 10.0
    gpu_backend: str = "nvml"
    host_name: str | None = None
    once: bool = False
    dry_run: bool = False
    spool_path: Path | None = None


def build_agent(options: AgentOptions, server: str, token: str) -> Agent:
    sampler = Sampler(
        backend=open_backend(options.gpu_backend),
        host_name=options.host_name or socket.gethostname(),
    )
    spool = Spool.open_or_memory(
        options.spool_path or config.spool_path(), config.spool_max_bytes()
    )
    return Agent(
        sampler=sampler,
        spool=spool,
        reporter=Reporter(spool=spool, server_url=server, token=token),
        interval=options.interval,
    )


def run(options: AgentOptions) -> int:
    name = options.host_name or socket.gethostname()
    if problem := host_name_problem(name):
        print(f"dlbot agent: {problem}; choose one with --host-name NAME", file=sys.stderr)
        return 2
    if options.dry_run:
        sampler = Sampler(
            backend=open_backend(options.gpu_backend),
            host_name=options.host_name or socket.gethostname(),
        )
        report = sampler.sample(seq=0)
        json.dump(report.to_wire(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    server = config.server_url(options.server)
    token = config.agent_token(options.token)
    if not server or not token:
        print(
            "dlbot agent needs a server and a token: --server URL --token TOKEN "
            "(or DLBOT_SERVER_URL and DLBOT_AGENT_TOKEN). Create a token on the server "
            "with `dlbot token create HOST`.",
            file=sys.stderr,
        )
        return 2
    agent = build_agent(options, server, token)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: agent.stop())
    log.info(
        "agent for %s reporting to %s every %.0fs (GPU backend %s, spool %s)",
        agent.sampler.host_name,
        server,
        agent.interval,
        agent.sampler.backend.name,
        agent.spool.path,
    )
    try:
        outcome = agent.run(once=options.once)
    finally:
        agent.close()
    if options.once and outcome is Outcome.RETRY:
        failure = agent.reporter.last_failure("sample")
        why = failure.problem.value if failure else Problem.UNREACHABLE.value
        print(f"report kept in the spool: {why}", file=sys.stderr)
        return 1
    return 0
