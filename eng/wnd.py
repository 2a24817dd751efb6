"""Book ch.1 (wnd.zig): the SDL3 window and its keyboard and mouse state (pysdl3).

Loading SDL3 is in eng/sdl_loader.py, the X11 workarounds in eng/platform_x11.py (not in the book).
"""

import ctypes
import os
from dataclasses import dataclass
from typing import Any

from eng.com.interrupts import teardown
from eng.platform_x11 import XDisplay, present_target
from eng.sdl_loader import WindowError, import_sdl, init_video

_EVENT_BATCH = 32  # events taken off SDL's queue per SDL_PeepEvents call


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
    def create(cls, title: str, width: int, height: int, fullscreen: bool = False) -> "Wnd":
        """`fullscreen` (not in the book): at the display's size, `width` x `height` when
        it leaves fullscreen."""
        sdl = import_sdl()
        if not init_video(sdl):
            display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or "none"
            raise WindowError(
                f"cannot open a window (display {display}): {sdl.SDL_GetError().decode()}"
            )
        flags = sdl.SDL_WINDOW_VULKAN | sdl.SDL_WINDOW_RESIZABLE | sdl.SDL_WINDOW_HIGH_PIXEL_DENSITY
        if fullscreen:
            flags |= sdl.SDL_WINDOW_FULLSCREEN
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
        """On X11 a connection of our own for Vulkan's presents (eng/platform_x11.py says why)."""
        return present_target(self.sdl, self.window)

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

    @teardown
    def cleanup(self) -> None:
        self.sdl.SDL_DestroyWindow(self.window)
        self.sdl.SDL_QuitSubSystem(self.sdl.SDL_INIT_VIDEO)
