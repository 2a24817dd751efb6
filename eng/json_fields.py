"""Checked reading of JSON: the model, material and scene files of eng/model_data.py and
eng/scene_data.py (not in the book: modelData.zig reads its fields with std.json; here the file
and every field is checked, and a problem is one ModelError line naming the file, the object and
the key)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eng.com.safe_io import JSON_LIMIT, FileProblemError, parse_json, read_file

COORD_LIMIT = 1e9  # positions, rotations (degrees), camera angles and vertex values: |v| <= this


class ModelError(Exception):
    """A model, material or scene file is missing or malformed; str() is one line."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(" ".join(f"{path}: {problem}".split()))
        self.problem = problem  # the message without the file


def read_json(path: Path) -> Any:
    """A model, material or scene file read and parsed (`eng.com.safe_io`)."""
    try:
        return parse_json(read_file(path, JSON_LIMIT, "a JSON file"))
    except FileProblemError as e:
        raise ModelError(path, str(e)) from None


def field(path: Path, obj: Any, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(obj, dict):
        raise ModelError(path, f"{what} is not a JSON object")
    if key not in obj:
        raise ModelError(path, f"{what} has no '{key}'")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ModelError(path, f"{what} '{key}' is not {kind_name(kind)}: {value!r}")
    return value


def kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "an object",
    }
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names[k] for k in kinds)


def size_field(path: Path, obj: Any, key: str, what: str) -> int:
    value = field(path, obj, key, int, what)
    if value < 0:
        raise ModelError(path, f"{what} '{key}' is negative: {value}")
    return value


def number_field(path: Path, obj: Any, key: str, what: str, low: float, high: float) -> float:
    value = float(field(path, obj, key, (int, float), what))  # parse_json checked it fits
    if not low <= value <= high:
        raise ModelError(path, f"{what} '{key}' is {value:g}, not between {low:g} and {high:g}")
    return value


def vec3_field(path: Path, obj: Any, key: str, what: str) -> tuple[float, float, float]:
    """Three numbers within +-COORD_LIMIT: a position or a rotation."""
    x, y, z = _numbers_field(path, obj, key, 3, what, -COORD_LIMIT, COORD_LIMIT)
    return x, y, z


def color_field(path: Path, obj: Any, key: str, what: str) -> tuple[float, float, float, float]:
    """Four numbers from 0 to 1: an RGBA colour."""
    r, g, b, a = _numbers_field(path, obj, key, 4, what, 0.0, 1.0)
    return r, g, b, a


def _numbers_field(
    path: Path, obj: Any, key: str, count: int, what: str, low: float, high: float
) -> tuple[float, ...]:
    value = field(path, obj, key, list, what)
    ok = len(value) == count and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    )
    if not ok:
        raise ModelError(path, f"{what} '{key}' is not {count} numbers: {value!r}")
    if not all(low <= v <= high for v in value):
        raise ModelError(path, f"{what} '{key}' has a value outside {low:g}..{high:g}: {value}")
    return tuple(float(v) for v in value)


def items_of(path: Path, doc: Any, key: str | None) -> list[Any]:
    """The book writes lists as {"items": [...], "capacity": n}; a plain list is accepted too."""
    value = doc if key is None else field(path, doc, key, (list, dict), "the file")
    if isinstance(value, dict):
        value = field(path, value, "items", list, f"'{key}'" if key else "the file")
    if not isinstance(value, list):
        raise ModelError(path, "the file is not a list nor an object with 'items'")
    return value


def check_unique(path: Path, ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ModelError(path, f"duplicate {what} id '{i}'")
        seen.add(i)
