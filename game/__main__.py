"""`python -m game`: the command line of game/cli.py, which runs the Game of game/main.py."""

import sys

if __name__ == "__main__":  # everything is imported inside: a Ctrl-C during that is one line too
    try:
        from game.cli import main

        status = main(prog="python -m game")
    except KeyboardInterrupt:  # before main() took over, or while it returned
        print("interrupted", file=sys.stderr)
        status = 130
    sys.exit(status)
