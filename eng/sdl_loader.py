"""Loading SDL3 through pysdl3 and keeping its video up (not in the book, whose Zig binding
links SDL3; book ch.1).

pysdl3 downloads SDL binaries and metadata at import unless told otherwise; `_prepare_sdl`
points it at the SDL3 that scripts/setup.sh found or built, with no network access. Messages
name SDL_BINARY_PATH only where the user set it, and scripts/setup.sh only in a checkout.
"""

import atexit
import os
import tempfile
from typing import Any

from eng.com.paths import PROJECT_ROOT
from eng.platform_x11 import catch_lost_x_connection

SETUP_SCRIPT = PROJECT_ROOT / "scripts" / "setup.sh"  # a checkout's; a wheel has none
USER_SDL_PATH = os.environ.get("SDL_BINARY_PATH")  # as the user set it (before _prepare_sdl)


class WindowError(RuntimeError):
    """No window could be opened (no display, no SDL3, no Vulkan support in SDL)."""


def _no_sdl_advice() -> str:
    """What to do when no libSDL3 loads."""
    if USER_SDL_PATH is not None:
        return f"no libSDL3 in SDL_BINARY_PATH={USER_SDL_PATH}; fix or unset it"
    if SETUP_SCRIPT.is_file():
        return "run scripts/setup.sh"
    return "install SDL3 (libSDL3: the system's package, e.g. Debian 13's libsdl3-0)"


def _prepare_sdl() -> None:
    path_file = PROJECT_ROOT / "build" / "sdl3-path"
    if "SDL_BINARY_PATH" not in os.environ and path_file.is_file():
        os.environ["SDL_BINARY_PATH"] = path_file.read_text().strip()
    for name, value in {
        "SDL_DISABLE_METADATA": "1",
        "SDL_DOWNLOAD_BINARIES": "0",
        "SDL_CHECK_VERSION": "0",
        "SDL_CHECK_BINARY_VERSION": "0",
        "SDL_DOC_GENERATOR": "0",
        "XDG_RUNTIME_DIR": tempfile.gettempdir(),
    }.items():
        os.environ.setdefault(name, value)


def import_sdl() -> Any:
    """Imports pysdl3 configured for offline use; raises WindowError if SDL3 is missing."""
    _prepare_sdl()
    try:  # imported here: pysdl3 reads its settings from the environment at import
        import sdl3
    except Exception as exc:  # pysdl3 raises plain Exceptions when it finds no library
        raise WindowError(f"cannot load SDL3 ({exc}); {_no_sdl_advice()}") from None
    if sdl3.SDL_GET_BINARY("SDL3") is None:  # else every function is a stub returning None
        raise WindowError(f"cannot load SDL3: {_no_sdl_advice()}")
    return sdl3


_video_kept = False


def init_video(sdl: Any) -> bool:
    """SDL_InitSubSystem(VIDEO), keeping one extra reference until the process exits.

    SDL 3.2 cannot initialise its X11 video again once it has been shut down after a Vulkan
    surface existed ("x11 not available"), so between windows (tests open dozens in one
    process) the subsystem stays up; `atexit` quits SDL for good."""
    global _video_kept
    if not _video_kept:
        if not sdl.SDL_InitSubSystem(sdl.SDL_INIT_VIDEO):
            return False
        atexit.register(quit_video)
        _video_kept = True
        catch_lost_x_connection(sdl)
    return bool(sdl.SDL_InitSubSystem(sdl.SDL_INIT_VIDEO))


def quit_video() -> None:
    """Shuts SDL down for good (at exit, or before the display it uses goes away)."""
    global _video_kept
    if _video_kept:
        import_sdl().SDL_Quit()
        _video_kept = False


def window_unavailable() -> str | None:
    """Why no window can be opened here, or None if one can: SDL decides (on any system)."""
    try:
        sdl = import_sdl()
    except WindowError as exc:
        return str(exc)
    if not init_video(sdl):
        return f"SDL cannot start its video ({sdl.SDL_GetError().decode() or 'no display'})"
    sdl.SDL_QuitSubSystem(sdl.SDL_INIT_VIDEO)
    return None


def sdl_version() -> str:
    sdl = import_sdl()
    v = sdl.SDL_GetVersion()
    return f"{v // 1000000}.{v // 1000 % 1000}.{v % 1000}"
