"""Book ch.4 (vkSurface.zig): the window's Vulkan surface, created by SDL3."""

import vulkan as vk

from eng.vk.util import cleanup_on_error, vk_int


class VkSurface:
    def __init__(self) -> None:
        self.surface = None

    @classmethod
    def create(cls, window, instance) -> "VkSurface":
        with cleanup_on_error(cls(), instance) as surface:
            handle = window.create_vk_surface(vk_int(instance.instance))
            surface.surface = vk.ffi.cast("VkSurfaceKHR", handle)
            return surface

    def cleanup(self, instance) -> None:
        surface, self.surface = self.surface, None  # dropped first: destroyed once
        if surface is not None:
            instance.proc("vkDestroySurfaceKHR")(instance.instance, surface, None)
