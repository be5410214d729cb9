"""Wall time of `dlbot ask` from the shell: process start, imports, answer, exit.

Each question runs --repeat times as a fresh process (SQLite in a temporary DLBOT_DATA_DIR,
migrated once beforehand so /gpus does not time the first migration).

    .venv/bin/python bench/ask_latency.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DLBOT, dlbot_env, machine, summarise

QUESTIONS = ("/help", "/tip onnx", "/gpus")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        env = dlbot_env(Path(tmp))
        subprocess.run([DLBOT, "db", "upgrade"], env=env, cwd=tmp, check=True, capture_output=True)
        for question in QUESTIONS:
            seconds = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                subprocess.run(
                    [DLBOT, "ask", question], env=env, cwd=tmp, check=False, capture_output=True
                )
                seconds.append((time.perf_counter() - start) * 1000)
            print(summarise(seconds).line(f"dlbot ask {question!r}", digits=0))


if __name__ == "__main__":
    main()
