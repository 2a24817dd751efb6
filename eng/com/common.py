"""Book ch.1 (com/common.zig): the engine's constants, read from resources/cfg.toml."""

import logging
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from eng.com.paths import DEFAULT_CFG
from eng.com.safe_io import CONFIG_LIMIT, FileProblemError, parse_toml, read_file

log = logging.getLogger("eng")

FRAMES_IN_FLIGHT = 2


class ConfigError(ValueError):
    """A cfg.toml that cannot be used; the message names the file and the setting."""


@dataclass(frozen=True, slots=True)
class Constants:
    fov: float = math.radians(60.0)  # radians (the file holds degrees)
    gpu: str | int = ""  # a part of its name (cfg.toml), or an index of --list-gpus
    swap_chain_images: int = 3
    ups: float = 40.0
    validation: bool = False
    vsync: bool = True
    z_far: float = 50.0
    z_near: float = 1.0

    def with_overrides(self, **changes: Any) -> "Constants":
        """A copy with the non-None `changes` (command-line options) applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


# cfg.toml key -> (Constants field, accepted Python types)
_KEYS = {
    "fov": ("fov", (int, float)),
    "gpu": ("gpu", (str,)),
    "swapChainImages": ("swap_chain_images", (int,)),
    "ups": ("ups", (int, float)),
    "validation": ("validation", (bool,)),
    "vsync": ("vsync", (bool,)),
    "zFar": ("z_far", (int, float)),
    "zNear": ("z_near", (int, float)),
}
assert {f for f, _ in _KEYS.values()} == {f.name for f in fields(Constants)}


def load(path: Path = DEFAULT_CFG) -> Constants:
    """Reads and checks a cfg.toml; every problem is a ConfigError naming file and key."""
    name = str(path)
    try:
        raw = parse_toml(read_file(path, CONFIG_LIMIT, "a cfg.toml"))
    except FileProblemError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    values: dict[str, Any] = {}  # checked against _KEYS' types below
    if unknown := [key for key in raw if key not in _KEYS]:
        from eng.com.cfg_check import unknown_keys

        log.warning("%s: %s", name, unknown_keys(unknown))
    for key, value in raw.items():
        if key not in _KEYS:
            continue
        field_name, types = _KEYS[key]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            expected = " or ".join(t.__name__ for t in types)
            raise ConfigError(f"{name}: '{key}' must be {expected}, not {value!r}")
        values[field_name] = value
    if "fov" in values:
        values["fov"] = math.radians(values["fov"])
    constants = Constants(**values)
    check(constants, name)
    return constants


def check(c: Constants, source: str) -> None:
    """Rejects values the engine cannot run with (`source` names where they came from)."""
    from eng.com.cfg_check import check_ranges

    problem = check_ranges(c)
    if problem:
        raise ConfigError(f"{source}: {problem}")
