"""`python -m game`: the command line of game/cli.py, which runs the Game of game/main.py."""

import sys

from game.cli import main

sys.exit(main())
