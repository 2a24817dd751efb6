"""The ranges of cfg.toml's settings (not in the book, whose cfg.toml is trusted), beside
eng/com/common.py, which reads it."""

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eng.com.common import Constants

FOV_DEGREES = (1.0, 179.0)  # narrower or wider, the projection's tangent overflows float32
MIN_Z_NEAR = 1e-6
# a 24/32-bit depth buffer holds about 2**24 steps: beyond this zFar/zNear, far surfaces fight
MAX_DEPTH_RATIO = 1e7
SHOWN_KEYS = 5  # unknown settings named in the one warning line
KEY_CHARS = 40  # of each


def check_ranges(c: "Constants") -> str:
    """Why the settings cannot be used, in words naming the setting; "" when they can."""
    for key, value in (("fov", c.fov), ("ups", c.ups), ("zNear", c.z_near), ("zFar", c.z_far)):
        if not math.isfinite(value):  # TOML allows nan and inf
            return f"'{key}' must be a finite number, not {value}"
    fov = math.degrees(c.fov)
    if not FOV_DEGREES[0] <= fov <= FOV_DEGREES[1]:
        low, high = FOV_DEGREES
        return f"'fov' must be between {low:g} and {high:g} degrees, not {fov:g}"
    if c.z_near < MIN_Z_NEAR:
        return f"'zNear' must be at least {MIN_Z_NEAR:g}, not {c.z_near:g}"
    if c.z_near >= c.z_far:
        return f"'zNear' ({c.z_near:g}) must be < 'zFar' ({c.z_far:g})"
    if c.z_far / c.z_near > MAX_DEPTH_RATIO:
        return (
            f"'zFar' / 'zNear' is {c.z_far / c.z_near:.3g}, beyond the depth buffer's "
            f"precision (at most {MAX_DEPTH_RATIO:g}: raise zNear or lower zFar)"
        )
    if not 1 <= c.swap_chain_images <= 16:
        return f"'swapChainImages' must be between 1 and 16, not {c.swap_chain_images}"
    if c.ups <= 0:
        return f"'ups' must be > 0, not {c.ups:g}"
    return ""


def unknown_keys(keys: list[str]) -> str:
    """One line for the unknown settings: the first few, each cut short, and how many."""
    shown = [k if len(k) <= KEY_CHARS else f"{k[:KEY_CHARS]}..." for k in keys[:SHOWN_KEYS]]
    names = ", ".join(f"'{ascii(k)[1:-1]}'" for k in shown)  # control characters escaped
    more = f" and {len(keys) - SHOWN_KEYS} more" if len(keys) > SHOWN_KEYS else ""
    return f"unknown setting{'s' if len(keys) > 1 else ''} {names}{more} ignored"
