"""A fake `nvidia-smi` executable: answers GPUtil's `--query-gpu` and the agent's
`--query-compute-apps` with the CSV files it is given (the recorded H100 output, or copies)."""

from __future__ import annotations

import stat
from pathlib import Path


def write_fake_nvidia_smi(directory: Path, gpu_csv: Path, apps_csv: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        f"  --query-gpu=*) cat '{gpu_csv}' ;;\n"
        f"  --query-compute-apps=*) cat '{apps_csv}' ;;\n"
        "  *) exit 9 ;;\n"
        "esac\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script
