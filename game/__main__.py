"""`python -m game`: the command line of game/cli.py, which runs the Game of game/main.py."""

import signal
import sys

if __name__ == "__main__":  # everything is imported inside: a Ctrl-C during that is one line too
    try:
        from game.cli import main

        status = main(prog="python -m game")
    except KeyboardInterrupt as exc:  # before main() took over, or while it returned
        if sys.stderr is not None:
            print("interrupted", file=sys.stderr)
        status = 128 + getattr(exc, "signum", signal.SIGINT)
    sys.exit(status)
