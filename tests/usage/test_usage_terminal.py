"""`dlbot ask "/usage"` writes the chart as a PNG file and prints its path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.terminal import save_images
from dlbot.handlers.reply import Image, Reply, para
from tests.usage.test_usage_command import PNG_MAGIC, an_hour_of_use


async def test_dlbot_ask_usage_writes_the_chart_into_the_data_dir(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    service = Service.from_settings(settings)
    await service.start()
    try:
        await an_hour_of_use(service)
    finally:
        await service.stop()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLBOT_")}
    env.update(DLBOT_DATA_DIR=str(settings.data_dir), DLBOT_DATABASE_URL=database_url)
    done = subprocess.run(
        [sys.executable, "-m", "dlbot", "ask", "/usage", "gpu-07", "6h"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    chart = settings.data_dir / "charts" / "usage-gpu-07-6h.png"
    assert done.stdout.splitlines() == [
        "gpu-07, last 6h: mean GPU utilisation 97% over 2 GPUs, 6 GiB of GPU memory used on "
        "average.",
        "",
        f"Chart written to {chart.resolve()}",
    ]
    assert chart.read_bytes().startswith(PNG_MAGIC)


def test_a_data_dir_that_cannot_be_written_falls_back_to_the_working_directory(
    tmp_path: Path,
) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the folder should be")
    reply = Reply(blocks=(para("summary"), Image(PNG_MAGIC + b"rest", "chart.png", "Chart")))
    saved = save_images(reply, blocked / "charts")
    assert saved.blocks[0] == para("summary")
    assert saved.blocks[1] == para(f"Chart written to {(tmp_path / 'chart.png').resolve()}")
    assert (tmp_path / "chart.png").read_bytes() == PNG_MAGIC + b"rest"
