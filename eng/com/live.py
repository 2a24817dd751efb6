"""Live objects per class (not in the book): an object made by a create (`cleanup_on_error`,
eng/vk/errors.py) counts until its `cleanup` has run (`teardown`, eng/com/interrupts.py), so
a leak shows as a count; `-v debug` logs what is still alive when the engine is cleaned up."""

from typing import Any

_live: dict[int, Any] = {}  # by id(), holding each object: a leaked one stays countable


def made(obj: Any) -> None:
    _live[id(obj)] = obj


def gone(obj: Any) -> None:
    _live.pop(id(obj), None)


def live_counts() -> dict[str, int]:
    """How many objects of each class are made and not yet cleaned up."""
    counts: dict[str, int] = {}
    for obj in _live.values():
        counts[type(obj).__name__] = counts.get(type(obj).__name__, 0) + 1
    return counts
