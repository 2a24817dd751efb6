"""The X11 workarounds of the window (not in the book): a second X connection of our own for
Vulkan's presents (`present_target`), and one clear line when the X server goes away or refuses
a request, as when another program destroys the window (`catch_lost_x_connection`). Both use
the libX11 that SDL's X11 video loaded, through ctypes.
"""

import ctypes
import functools
import logging
import os
from typing import Any

log = logging.getLogger("eng.platform_x11")

_X_IO_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
_X_ERROR_NAMES = {3: "BadWindow", 9: "BadDrawable", 4: "BadPixmap", 8: "BadMatch"}


class _XErrorEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("resourceid", ctypes.c_ulong),
        ("serial", ctypes.c_ulong),
        ("error_code", ctypes.c_ubyte),
        ("request_code", ctypes.c_ubyte),
        ("minor_code", ctypes.c_ubyte),
    ]


_X_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_XErrorEvent))


def _on_lost_x_connection(display: Any) -> int:
    """Xlib's IO error handler: the X server went away (killed, its machine gone). Xlib ends
    the process as soon as this returns and no X call may be made from here; the window,
    Vulkan's surface and its swapchain live on that server, so nothing can be destroyed in order:
    one line and status 1, at once (the system frees memory and GPU objects; no file is left
    half-written, since every file is written under a temporary name and renamed)."""
    display_name = os.environ.get("DISPLAY", "")
    os.write(2, f"error: lost the connection to the X server (display {display_name})\n".encode())
    os._exit(1)


def _on_x_error(display: Any, event: Any) -> int:
    """Xlib's error handler: the server refused a request, most often because another program
    destroyed the window. Xlib's own handler prints six lines and ends the process; this one
    says it in one line, with the same status."""
    code = event.contents.error_code
    name = _X_ERROR_NAMES.get(code, f"error {code}")
    why = f"the X server refused a request for the window ({name})"
    os.write(2, f"error: {why}; was it closed by another program?\n".encode())
    os._exit(1)


_x_io_handler = _X_IO_ERROR_HANDLER(_on_lost_x_connection)  # kept alive for Xlib
_x_error_handler = _X_ERROR_HANDLER(_on_x_error)


def uses_x11(sdl: Any) -> bool:
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
    xlib.XSetErrorHandler.argtypes = [_X_ERROR_HANDLER]
    xlib.XSetErrorHandler.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XDisplayString.argtypes = [ctypes.c_void_p]
    xlib.XDisplayString.restype = ctypes.c_char_p
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    return xlib


def catch_lost_x_connection(sdl: Any) -> None:
    """Installs `_on_lost_x_connection` and `_on_x_error` in the Xlib that SDL's X11 video uses
    (instead of Xlib's own, which print a few lines and exit); they cover every connection."""
    xlib = _load_xlib() if uses_x11(sdl) else None
    if xlib is not None:
        xlib.XSetIOErrorHandler(_x_io_handler)
        xlib.XSetErrorHandler(_x_error_handler)


class XDisplay:
    """A connection of our own to an X server (an Xlib `Display*`), for Vulkan's presents."""

    def __init__(self, xlib: Any, pointer: int) -> None:
        self.xlib = xlib
        self.pointer: int | None = pointer

    def close(self) -> None:
        pointer, self.pointer = self.pointer, None  # dropped first: closed once
        if pointer is not None:
            self.xlib.XCloseDisplay(pointer)


def present_target(sdl: Any, sdl_window: Any) -> tuple[XDisplay, int] | None:
    """On X11: a new connection to the X server of SDL's window `sdl_window` and the window's
    number, for Vulkan's surface (eng/vk/surf.py); None elsewhere, or if no connection can be
    made.

    SDL would make the surface on its own connection, and the driver's present thread
    would then send every image through the socket that SDL's event pump reads: at
    1920x1080 under Xvfb each pump waited about 2.5 ms for an 8 MB image to pass."""
    xlib = _load_xlib() if uses_x11(sdl) else None
    if xlib is None:
        return None
    props = sdl.SDL_GetWindowProperties(sdl_window)
    sdl_display = sdl.SDL_GetPointerProperty(props, sdl.SDL_PROP_WINDOW_X11_DISPLAY_POINTER, None)
    number = sdl.SDL_GetNumberProperty(props, sdl.SDL_PROP_WINDOW_X11_WINDOW_NUMBER, 0)
    if not sdl_display or not number:
        return None
    pointer = xlib.XOpenDisplay(xlib.XDisplayString(sdl_display))
    if not pointer:
        log.debug("no second X connection; presenting through SDL's")
        return None
    return XDisplay(xlib, pointer), int(number)
