"""Ctrl-C held back while resources are made or destroyed (not in the book)."""

import functools
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from eng.com import live

_P = ParamSpec("_P")
_R = TypeVar("_R")


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
            held.clear()
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield stop_if_interrupted
    finally:
        signal.signal(signal.SIGINT, previous)
        if held and callable(previous):
            previous(signal.SIGINT, None)  # the usual handler raises KeyboardInterrupt


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
