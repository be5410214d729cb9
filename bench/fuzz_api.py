"""Schemathesis against `dlbot serve`'s own /openapi.json: no generated input may give a 5xx.

`dlbot serve` runs as a subprocess (SQLite in a temporary DLBOT_DATA_DIR, then PostgreSQL in
the dedicated `bench` database, dropped and re-created), with a fleet token so the generated
reports and events reach validation and storage. Every operation, both coverage and fuzzing
phases, check `not_a_server_error`. Exits non-zero when schemathesis finds an issue.

    .venv/bin/python bench/fuzz_api.py [--db sqlite,postgres] [--max-examples 1000] [--seed 1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    BENCH_PG_URL,
    VENV_BIN,
    create_token,
    dlbot_env,
    dlbot_serve,
    free_port,
    machine,
    recreate_pg_database,
)


def fuzz(database: str, max_examples: int, seed: int) -> int:
    with tempfile.TemporaryDirectory(prefix="dlbot-fuzz-") as tmp:
        url = None
        if database == "postgres":
            recreate_pg_database()
            url = BENCH_PG_URL
        env = dlbot_env(Path(tmp), url)
        token = create_token(env, "--fleet", "fuzz")
        port = free_port()
        with dlbot_serve(env, port):
            print(f"--- {database}: schemathesis, at most {max_examples} examples per operation")
            return subprocess.run(
                [
                    str(VENV_BIN / "schemathesis"),
                    "run",
                    f"http://127.0.0.1:{port}/openapi.json",
                    "--checks",
                    "not_a_server_error",
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--max-examples",
                    str(max_examples),
                    "--seed",
                    str(seed),
                ],
                check=False,
            ).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--max-examples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    failed = [db for db in args.db.split(",") if fuzz(db, args.max_examples, args.seed)]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
