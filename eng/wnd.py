"""Book ch.1 (wnd.zig): the SDL3 window and its keyboard and mouse state (pysdl3).

pysdl3 downloads SDL binaries and metadata at import unless told otherwise; `_prepare_sdl`
points it at the SDL3 that scripts/setup.sh found or built, with no network access.
"""

import atexit
import ctypes
import functools
import logging
import os
import tempfile
from dataclasses import dataclass
from typing import Any

from eng.com.common import PROJECT_ROOT

log = logging.getLogger("eng.wnd")


_EVENT_BATCH = 32  # events taken off SDL's queue per SDL_PeepEvents call


class WindowError(RuntimeError):
    """No window could be opened (no display, no SDL3, no Vulkan support in SDL)."""


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
        raise WindowError(f"cannot load SDL3 ({exc}); run scripts/setup.sh") from None
    if sdl3.SDL_GET_BINARY("SDL3") is None:  # else every function is a stub returning None
        where = os.environ.get("SDL_BINARY_PATH", "pysdl3's own folder")
        raise WindowError(
            f"cannot load SDL3: no libSDL3 in SDL_BINARY_PATH={where}; fix or unset it, "
            "or run scripts/setup.sh"
        )
    return sdl3


_video_kept = False
_X_IO_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


def _on_lost_x_connection(display: Any) -> int:
    """Xlib's IO error handler: the X server went away (killed, its machine gone). Xlib ends
    the process as soon as this returns and no X call may be made from here; the window,
    Vulkan's surface and its swapchain live on that server, so nothing can be destroyed in order:
    one line and status 1, at once (the system frees memory and GPU objects; no file is left
    half-written, since every file is written under a temporary name and renamed)."""
    display_name = os.environ.get("DISPLAY", "")
    os.write(2, f"error: lost the connection to the X server (display {display_name})\n".encode())
    os._exit(1)


_x_io_handler = _X_IO_ERROR_HANDLER(_on_lost_x_connection)  # kept alive for Xlib


def _uses_x11(sdl: Any) -> bool:
    driver = sdl.SDL_GetCurrentVideoDriver()
    return (driver.decode() if isinstance(driver, bytes) else driver) == "x11"


@functools.cache
def _load_xlib() -> Any:
    """libX11 (the one SDL's X11 video uses) with the signatures called here, or None."""
    try:
        xlib = ctypes.CDLL("libX11.so.6")
    except OSError:
        return None
    xlib.XSetIOErrorHandler.argtypes = [_X_IO_ERROR_HANDLER]
    xlib.XSetIOErrorHandler.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XDisplayString.argtypes = [ctypes.c_void_p]
    xlib.XDisplayString.restype = ctypes.c_char_p
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    return xlib


def _catch_lost_x_connection(sdl: Any) -> None:
    """Installs `_on_lost_x_connection` in the Xlib that SDL's X11 video uses (instead of
    Xlib's own, which prints a few lines and exits); it covers every connection."""
    xlib = _load_xlib() if _uses_x11(sdl) else None
    if xlib is not None:
        xlib.XSetIOErrorHandler(_x_io_handler)


class XDisplay:
    """A connection of our own to an X server (an Xlib `Display*`), for Vulkan's presents."""

    def __init__(self, xlib: Any, pointer: int) -> None:
        self.xlib = xlib
        self.pointer: int | None = pointer

    def close(self) -> None:
        pointer, self.pointer = self.pointer, None  # dropped first: closed once
        if pointer is not None:
            self.xlib.XCloseDisplay(pointer)


def _init_video(sdl: Any) -> bool:
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
        _catch_lost_x_connection(sdl)
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
    if not _init_video(sdl):
        return f"SDL cannot start its video ({sdl.SDL_GetError().decode() or 'no display'})"
    sdl.SDL_QuitSubSystem(sdl.SDL_INIT_VIDEO)
    return None


@dataclass
class MouseState:
    x: float = 0.0
    y: float = 0.0
    delta_x: float = 0.0
    delta_y: float = 0.0
    left: bool = False
    middle: bool = False
    right: bool = False


class Wnd:
    """An SDL3 window made for Vulkan; `poll_events` refreshes `closed`, `resized`, `mouse`."""

    def __init__(self, sdl: Any, window: Any) -> None:
        self.sdl = sdl
        self.window = window
        self.closed = False
        self.resized = False
        self.mouse = MouseState()
        self.key_presses: set[int] = set()  # scancodes pressed (not repeats) since the last poll
        self._events = (sdl.SDL_Event * _EVENT_BATCH)()
        self._closing_events = (
            sdl.SDL_EVENT_QUIT,
            sdl.SDL_EVENT_TERMINATING,
            sdl.SDL_EVENT_WINDOW_CLOSE_REQUESTED,
        )
        self._keys: Any = None  # SDL's keyboard state array, read on first use
        self._mx = ctypes.c_float()
        self._my = ctypes.c_float()

    @classmethod
    def create(cls, title: str, width: int, height: int) -> "Wnd":
        sdl = import_sdl()
        if not _init_video(sdl):
            display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or "none"
            raise WindowError(
                f"cannot open a window (display {display}): {sdl.SDL_GetError().decode()}"
            )
        flags = sdl.SDL_WINDOW_VULKAN | sdl.SDL_WINDOW_RESIZABLE | sdl.SDL_WINDOW_HIGH_PIXEL_DENSITY
        window = sdl.SDL_CreateWindow(title.encode(), width, height, flags)
        if not window:
            error = sdl.SDL_GetError().decode()
            sdl.SDL_QuitSubSystem(sdl.SDL_INIT_VIDEO)
            raise WindowError(f"cannot create a Vulkan window: {error}")
        return cls(sdl, window)

    def vulkan_instance_extensions(self) -> list[str]:
        count = ctypes.c_uint32()
        names = self.sdl.SDL_Vulkan_GetInstanceExtensions(ctypes.byref(count))
        return [names[i].decode() for i in range(count.value)]

    def x11_present_target(self) -> tuple[XDisplay, int] | None:
        """On X11: a new connection to this window's X server and the window's number, for
        Vulkan's surface (eng/vk/surf.py); None elsewhere, or if no connection can be made.

        SDL would make the surface on its own connection, and the driver's present thread
        would then send every image through the socket that SDL's event pump reads: at
        1920x1080 under Xvfb each pump waited about 2.5 ms for an 8 MB image to pass."""
        sdl = self.sdl
        xlib = _load_xlib() if _uses_x11(sdl) else None
        if xlib is None:
            return None
        props = sdl.SDL_GetWindowProperties(self.window)
        sdl_display = sdl.SDL_GetPointerProperty(
            props, sdl.SDL_PROP_WINDOW_X11_DISPLAY_POINTER, None
        )
        window = sdl.SDL_GetNumberProperty(props, sdl.SDL_PROP_WINDOW_X11_WINDOW_NUMBER, 0)
        if not sdl_display or not window:
            return None
        pointer = xlib.XOpenDisplay(xlib.XDisplayString(sdl_display))
        if not pointer:
            log.debug("no second X connection; presenting through SDL's")
            return None
        return XDisplay(xlib, pointer), int(window)

    def create_vk_surface(self, instance: int) -> int:
        """SDL_Vulkan_CreateSurface for the VkInstance whose integer value is `instance`."""
        surface = self.sdl.VkSurfaceKHR()
        ok = self.sdl.SDL_Vulkan_CreateSurface(
            self.window, self.sdl.VkInstance(instance), None, ctypes.byref(surface)
        )
        if not ok:
            raise WindowError(f"cannot create a Vulkan surface: {self.sdl.SDL_GetError().decode()}")
        return surface.value if hasattr(surface, "value") else int(surface)

    def pixel_size(self) -> tuple[int, int]:
        """The drawable size in pixels (not the logical size, which differs on HiDPI)."""
        w, h = ctypes.c_int(), ctypes.c_int()
        self.sdl.SDL_GetWindowSizeInPixels(self.window, ctypes.byref(w), ctypes.byref(h))
        return w.value, h.value

    def set_size(self, width: int, height: int) -> None:
        self.sdl.SDL_SetWindowSize(self.window, width, height)
        self.sdl.SDL_SyncWindow(self.window)

    def limit_size(self, max_width: int, max_height: int) -> bool:
        """Keeps the window within `max_width` x `max_height` pixels (the device's limits):
        the most a window manager lets the user drag it to, and the window shrunk now if it
        is larger. True if it was."""
        width, height = self.pixel_size()
        # SDL sizes are logical; on HiDPI a logical pixel is more than one pixel
        scale = max(width / max(self._logical_width(), 1), 1.0)
        self.sdl.SDL_SetWindowMaximumSize(
            self.window, int(max_width / scale), int(max_height / scale)
        )
        if width <= max_width and height <= max_height:
            return False
        self.set_size(int(min(width, max_width) / scale), int(min(height, max_height) / scale))
        return True

    def _logical_width(self) -> int:
        w, h = ctypes.c_int(), ctypes.c_int()
        self.sdl.SDL_GetWindowSize(self.window, ctypes.byref(w), ctypes.byref(h))
        return w.value

    def set_title(self, title: str) -> None:
        self.sdl.SDL_SetWindowTitle(self.window, title.encode())

    def is_key_pressed(self, scancode: int) -> bool:
        if self._keys is None:
            self._keys = self.sdl.SDL_GetKeyboardState(None)
        return bool(self._keys[scancode])

    def scancode(self, name: str) -> int:
        """The scancode for a key name such as "W" or "UP"."""
        return getattr(self.sdl, f"SDL_SCANCODE_{name}")

    def was_pressed(self, name: str) -> bool:
        """Whether the key (a name such as "M" or "F12") went down since the last poll."""
        return self.scancode(name) in self.key_presses

    def poll_events(self) -> None:
        """Pumps SDL's events once, then takes them off the queue in batches: on X11 under
        a Vulkan swapchain every pump costs tens of microseconds, and SDL_PollEvent pumps
        again for every event it returns."""
        sdl = self.sdl
        self.resized = False
        self.key_presses.clear()
        mouse = self.mouse
        mouse.delta_x = mouse.delta_y = 0.0
        sdl.SDL_PumpEvents()
        events = self._events
        while count := sdl.SDL_PeepEvents(
            events, _EVENT_BATCH, sdl.SDL_GETEVENT, sdl.SDL_EVENT_FIRST, sdl.SDL_EVENT_LAST
        ):
            for event in events[:count]:
                self._handle(event)
            if count < _EVENT_BATCH:
                break
        buttons = sdl.SDL_GetMouseState(ctypes.byref(self._mx), ctypes.byref(self._my))
        mouse.x, mouse.y = self._mx.value, self._my.value
        mouse.left = bool(buttons & sdl.SDL_BUTTON_LMASK)
        mouse.middle = bool(buttons & sdl.SDL_BUTTON_MMASK)
        mouse.right = bool(buttons & sdl.SDL_BUTTON_RMASK)

    def _handle(self, event: Any) -> None:
        sdl = self.sdl
        kind = event.type
        if (
            kind in self._closing_events
            or kind == sdl.SDL_EVENT_KEY_DOWN
            and event.key.scancode == sdl.SDL_SCANCODE_ESCAPE
        ):
            self.closed = True
        elif kind == sdl.SDL_EVENT_KEY_DOWN and not event.key.repeat:
            self.key_presses.add(event.key.scancode)
        elif kind == sdl.SDL_EVENT_MOUSE_MOTION:
            self.mouse.delta_x += event.motion.xrel
            self.mouse.delta_y += event.motion.yrel
        elif kind in (sdl.SDL_EVENT_WINDOW_RESIZED, sdl.SDL_EVENT_WINDOW_PIXEL_SIZE_CHANGED):
            self.resized = True

    def is_minimized(self) -> bool:
        w, h = self.pixel_size()
        return (
            w == 0
            or h == 0
            or bool(self.sdl.SDL_GetWindowFlags(self.window) & self.sdl.SDL_WINDOW_MINIMIZED)
        )

    def cleanup(self) -> None:
        self.sdl.SDL_DestroyWindow(self.window)
        self.sdl.SDL_QuitSubSystem(self.sdl.SDL_INIT_VIDEO)


def sdl_version() -> str:
    sdl = import_sdl()
    v = sdl.SDL_GetVersion()
    return f"{v // 1000000}.{v // 1000 % 1000}.{v % 1000}"
