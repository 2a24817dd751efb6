"""`python -m game`: the command line of game/cli.py, which runs the Game of game/main.py."""

import sys

try:  # everything is imported inside: a Ctrl-C during the imports is one line too
    from game.cli import main

    status = main()
except KeyboardInterrupt:  # before main() took over, or while it returned
    print("interrupted", file=sys.stderr)
    status = 130
sys.exit(status)
