"""Ctrl-C held back while resources are made or destroyed (not in the book).

One policy for every signal that asks the program to stop (SIGINT, SIGTERM, SIGHUP, SIGQUIT):
`stop_on_signals` makes each raise `Interrupted` (a KeyboardInterrupt), so that a `kill` cleans
up as Ctrl-C does and the command line exits 128 + the signal; `interrupts_deferred` holds
them all alike.
"""

import functools
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from eng.com import live

_P = ParamSpec("_P")
_R = TypeVar("_R")
STOP_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
    if hasattr(signal, name)
)


class Interrupted(KeyboardInterrupt):
    """A stop signal other than SIGINT, raised where Ctrl-C's KeyboardInterrupt would be."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum: int, frame: object) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Interrupted(signum)


def stop_on_signals() -> None:
    """Every stop signal raises as Ctrl-C does (installed before SDL starts: SDL then leaves
    SIGTERM alone instead of turning it into a quit event, and an exit status of 0)."""
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS[1:]:
            signal.signal(signum, _raise)


def exit_status(exc: KeyboardInterrupt) -> int:
    """128 + the signal that stopped the program (130 for Ctrl-C)."""
    return 128 + getattr(exc, "signum", signal.SIGINT)


@contextmanager
def interrupts_deferred() -> Iterator[Callable[[], None]]:
    """Holds Ctrl-C (SIGINT) while the block runs and raises KeyboardInterrupt once it has
    finished, so that Ctrl-C cannot stop a create or a teardown half-way (between a C call
    that made a handle and the statement that keeps it) and leak the rest. The block is given
    a function to call where stopping is safe (between frames): a Ctrl-C held is raised there.
    Nested blocks hand the held signal outwards; only the main thread gets signals."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    held: list[int] = []

    def stop_if_interrupted() -> None:
        if held:
            signum = held[0]
            held.clear()
            _raise(signum, None)

    # only the signals that raise (SIGINT, and the others once stop_on_signals ran) are held
    signums = [s for s in STOP_SIGNALS if s == signal.SIGINT or signal.getsignal(s) is _raise]
    previous = {s: signal.signal(s, lambda signum, frame: held.append(signum)) for s in signums}
    try:
        yield stop_if_interrupted
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if held and callable(handler := previous[held[0]]):
            handler(held[0], None)  # the usual handlers raise KeyboardInterrupt / Interrupted


def teardown(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Marks a function that destroys what was made: it runs to its end with Ctrl-C held
    (raised once it is done), so the tests' interrupt sweep does not stop it half-way either.
    A full `cleanup` also ends the object's count in eng/com/live.py."""

    @functools.wraps(fn)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with interrupts_deferred():
            result = fn(*args, **kwargs)
            if fn.__name__ == "cleanup" and args:
                live.gone(args[0])
            return result

    return run
