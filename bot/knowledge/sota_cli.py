"""`dlbot sota import FILE` (the server CLI dispatches here)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dlbot.bot.knowledge.sota_import import SotaImportError, import_leaderboards
from dlbot.bot.settings import Settings
from dlbot.bot.store.engine import make_engine
from dlbot.bot.store.migrate import upgrade
from dlbot.wire import utc_now


async def sota(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.effective_database_url)
    try:
        await upgrade(engine)
        summary = await import_leaderboards(engine, Path(args.file), utc_now())
    except SotaImportError as exc:
        print(f"Import refused, the database is unchanged: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(
        f"Imported {summary.leaderboards} leaderboards ({summary.rows} rows) from "
        f"{summary.file_name}. Ask /sota DATASET; Papers with Code data is CC BY-SA 4.0."
    )
    return 0
