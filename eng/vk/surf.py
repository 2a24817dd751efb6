"""Book ch.4 (vkSurface.zig): the window's Vulkan surface, created by SDL3."""

from typing import TYPE_CHECKING, Any

import vulkan as vk

from eng.vk.util import vk_int

if TYPE_CHECKING:
    from eng.vk.inst import VkInstance
    from eng.wnd import Wnd


class VkSurface:
    def __init__(self, surface: Any) -> None:
        self.surface = surface

    @classmethod
    def create(cls, window: "Wnd", instance: "VkInstance") -> "VkSurface":
        handle = window.create_vk_surface(vk_int(instance.instance))
        return cls(vk.ffi.cast("VkSurfaceKHR", handle))

    def cleanup(self, instance: "VkInstance") -> None:
        instance.proc("vkDestroySurfaceKHR")(instance.instance, self.surface, None)
