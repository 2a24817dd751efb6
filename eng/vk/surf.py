"""Book ch.4 (vkSurface.zig): the window's Vulkan surface, created by SDL3."""

from typing import TYPE_CHECKING

import vulkan as vk

from eng.vk.util import cleanup_on_error, vk_int

if TYPE_CHECKING:  # for annotations only: wnd loads SDL3
    from eng.vk.inst import VkInstance
    from eng.wnd import Wnd


class VkSurface:
    def __init__(self) -> None:
        self.surface = None

    @classmethod
    def create(cls, window: "Wnd", instance: "VkInstance") -> "VkSurface":
        with cleanup_on_error(cls(), instance) as surface:
            handle = window.create_vk_surface(vk_int(instance.instance))
            surface.surface = vk.ffi.cast("VkSurfaceKHR", handle)
            return surface

    def cleanup(self, instance: "VkInstance") -> None:
        surface, self.surface = self.surface, None  # dropped first: destroyed once
        if surface is not None:
            instance.proc("vkDestroySurfaceKHR")(instance.instance, surface, None)
