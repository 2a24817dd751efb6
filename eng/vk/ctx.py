"""Book ch.10 (vkCtx.zig): the Vulkan context every resource is created from.

Creation order: instance, surface, physical device, device, swapchain, descriptor allocator,
VMA allocator, pipeline cache; cleanup runs in reverse. Without a window (headless) there is no
surface and no swapchain.
"""

import logging
from pathlib import Path

import vulkan as vk

from eng.vk.desc import VkDescAllocator
from eng.vk.dev import VkDevice
from eng.vk.inst import VkInstance
from eng.vk.phys import VkPhysDevice
from eng.vk.pipe import VkPipelineCache
from eng.vk.util import cleanup_on_error
from eng.vk.vma import VkVmaAlloc

log = logging.getLogger("eng.vk")


class VkCtx:
    def __init__(self, constants) -> None:
        self.constants = constants
        self.instance: VkInstance | None = None
        self.surface = None
        self.phys: VkPhysDevice | None = None
        self.device: VkDevice | None = None
        self.swap_chain = None
        self.desc_allocator: VkDescAllocator | None = None
        self.vma: VkVmaAlloc | None = None
        self.pipeline_cache: VkPipelineCache | None = None

    @classmethod
    def create(
        cls,
        constants,
        window=None,
        validation_features: tuple[str, ...] = (),
        pipeline_cache_path: Path | None = None,
    ) -> "VkCtx":
        with cleanup_on_error(cls(constants)) as ctx:
            extensions = window.vulkan_instance_extensions() if window else []
            ctx.instance = VkInstance.create(constants.validation, extensions, validation_features)
            if window is not None:
                from eng.vk.surf import VkSurface

                ctx.surface = VkSurface.create(window, ctx.instance)
            ctx.phys = VkPhysDevice.create(ctx.instance, constants.gpu, ctx.surface)
            ctx.device = VkDevice.create(ctx.instance, ctx.phys, swapchain=window is not None)
            ctx._name_instance_objects()
            if window is not None:
                window.limit_size(*ctx.phys.max_target_size)
                ctx.create_swap_chain(window)
            ctx.desc_allocator = VkDescAllocator()
            ctx.vma = VkVmaAlloc.create(ctx.instance.instance, ctx.phys.pdev, ctx.device.device)
            ctx.pipeline_cache = VkPipelineCache.create(ctx, pipeline_cache_path)
            return ctx

    def _name_instance_objects(self) -> None:
        """Debug names for the objects made before the device (names need a device).

        The VkInstance and the debug messenger stay unnamed: naming either through the device
        crashes inside the Vulkan loader / validation layers 1.3.239 (measured on Debian 12)."""
        dev = self.device
        dev.set_name(vk.VK_OBJECT_TYPE_PHYSICAL_DEVICE, self.phys.pdev, self.phys.name)
        if self.surface is not None:
            dev.set_name(vk.VK_OBJECT_TYPE_SURFACE_KHR, self.surface.surface, "window surface")

    @property
    def validation_messages(self) -> list[str]:
        log_ = self.instance.validation_log if self.instance else None
        return log_.messages if log_ else []

    def create_swap_chain(self, window) -> None:
        from eng.vk.swap import VkSwapChain

        self.swap_chain = VkSwapChain.create(
            self, window, self.constants.swap_chain_images, self.constants.vsync
        )

    def resize(self, window) -> None:
        """Recreates the swapchain for the window's new size (book: VkCtx.resize)."""
        self.swap_chain.cleanup(self)
        self.swap_chain = None
        self.create_swap_chain(window)

    def cleanup(self) -> None:
        """Destroys what exists, in reverse order of creation; safe after a failed create."""
        if self.pipeline_cache is not None:
            self.pipeline_cache.cleanup(self)
            self.pipeline_cache = None
        if self.vma is not None:
            self.vma.cleanup()
            self.vma = None
        if self.desc_allocator is not None:
            self.desc_allocator.cleanup(self)
            self.desc_allocator = None
        if self.swap_chain is not None:
            self.swap_chain.cleanup(self)
            self.swap_chain = None
        if self.device is not None:
            self.device.cleanup()
            self.device = None
        if self.surface is not None:
            self.surface.cleanup(self.instance)
            self.surface = None
        if self.instance is not None:
            self.instance.cleanup()
            self.instance = None
