"""``python -m dlbot`` is the ``dlbot`` command."""

import sys

from dlbot.bot.cli import main

sys.exit(main())
