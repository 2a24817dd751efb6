"""Book ch.4 (vkSurface.zig): the window's Vulkan surface, created by SDL3."""

import vulkan as vk

from eng.vk.util import vk_int


class VkSurface:
    def __init__(self, surface) -> None:
        self.surface = surface

    @classmethod
    def create(cls, window, instance) -> "VkSurface":
        handle = window.create_vk_surface(vk_int(instance.instance))
        return cls(vk.ffi.cast("VkSurfaceKHR", handle))

    def cleanup(self, instance) -> None:
        instance.proc("vkDestroySurfaceKHR")(instance.instance, self.surface, None)
