"""Book ch.4 (vkSurface.zig): the window's Vulkan surface, created by SDL3 - on X11 by us, on
an X connection of its own (Wnd.x11_present_target says why)."""

from typing import TYPE_CHECKING

import vulkan as vk

from eng.com.interrupts import teardown
from eng.vk.errors import cleanup_on_error
from eng.vk.util import vk_int

if TYPE_CHECKING:  # for annotations only: wnd loads SDL3
    from eng.platform_x11 import XDisplay
    from eng.vk.inst import VkInstance
    from eng.wnd import Wnd


class VkSurface:
    def __init__(self) -> None:
        self.surface = None
        self.x_display: XDisplay | None = None  # the X connection Vulkan presents through

    @classmethod
    def create(cls, window: "Wnd", instance: "VkInstance") -> "VkSurface":
        with cleanup_on_error(cls(), instance) as surface:
            xlib_surface = "VK_KHR_xlib_surface" in instance.extensions
            x11 = window.x11_present_target() if xlib_surface else None
            if x11 is not None:
                surface.x_display, window_number = x11
                info = vk.VkXlibSurfaceCreateInfoKHR(
                    dpy=vk.ffi.cast("Display*", surface.x_display.pointer), window=window_number
                )
                create = instance.proc("vkCreateXlibSurfaceKHR")
                surface.surface = create(instance.instance, info, None)
            else:
                handle = window.create_vk_surface(vk_int(instance.instance))
                surface.surface = vk.ffi.cast("VkSurfaceKHR", handle)
            return surface

    @teardown
    def cleanup(self, instance: "VkInstance") -> None:
        surface, self.surface = self.surface, None  # dropped first: destroyed once
        if surface is not None:
            instance.proc("vkDestroySurfaceKHR")(instance.instance, surface, None)
        if self.x_display is not None:  # after the surface that uses it
            self.x_display.close()
            self.x_display = None
