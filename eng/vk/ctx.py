"""Book ch.10 (vkCtx.zig): the Vulkan context every resource is created from.

Creation order: instance, surface, physical device, device, swapchain, descriptor allocator,
VMA allocator, pipeline cache; cleanup runs in reverse. Without a window (headless) there is no
surface and no swapchain.
"""

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import vulkan as vk

from eng.com.interrupts import teardown
from eng.limits import check_process_limits
from eng.vk.desc import VkDescAllocator
from eng.vk.dev import VkDevice
from eng.vk.errors import VulkanError, cleanup_on_error
from eng.vk.inst import VkInstance
from eng.vk.phys import VkPhysDevice
from eng.vk.pipe import VkPipelineCache
from eng.vk.swap import VkSwapChain
from eng.vk.vma import VkVmaAlloc

if TYPE_CHECKING:  # for annotations only: surf/swap import VkCtx the same way, wnd loads SDL3
    from eng.com.common import Constants
    from eng.vk.surf import VkSurface
    from eng.wnd import Wnd

log = logging.getLogger("eng.vk")

_T = TypeVar("_T")


class _Made(Generic[_T]):
    """A member that exists from create to cleanup, kept in `_<name>` and read checked (not
    Optional): using it outside that span is a bug, reported as a VulkanError."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, ctx: "VkCtx", owner: type | None = None) -> _T:
        member = getattr(ctx, f"_{self.name}")
        if member is None:
            raise VulkanError(f"VkCtx.{self.name} used before VkCtx.create or after cleanup")
        return member


class VkCtx:
    """The members that always exist between create and cleanup are read checked (`_Made`,
    not Optional); surface and swap_chain are None when headless."""

    def __init__(self, constants: "Constants") -> None:
        self.constants = constants
        self._instance: VkInstance | None = None
        self.surface: VkSurface | None = None
        self._phys: VkPhysDevice | None = None
        self._device: VkDevice | None = None
        self.swap_chain: VkSwapChain | None = None
        self._desc_allocator: VkDescAllocator | None = None
        self._vma: VkVmaAlloc | None = None
        self._pipeline_cache: VkPipelineCache | None = None

    instance = _Made[VkInstance]()
    phys = _Made[VkPhysDevice]()
    device = _Made[VkDevice]()
    desc_allocator = _Made[VkDescAllocator]()
    vma = _Made[VkVmaAlloc]()
    pipeline_cache = _Made[VkPipelineCache]()

    @classmethod
    def create(
        cls,
        constants: "Constants",
        window: "Wnd | None" = None,
        validation_features: tuple[str, ...] = (),
        pipeline_cache_path: Path | None = None,
        device_extensions: tuple[str, ...] = (),
    ) -> "VkCtx":
        check_process_limits()  # before the driver loads: it dies under small ulimits
        with cleanup_on_error(cls(constants)) as ctx:
            extensions = window.vulkan_instance_extensions() if window else []
            ctx._instance = VkInstance.create(constants.validation, extensions, validation_features)
            if window is not None:
                from eng.vk.surf import VkSurface

                ctx.surface = VkSurface.create(window, ctx.instance)
            ctx._phys = VkPhysDevice.create(ctx.instance, constants.gpu, ctx.surface)
            ctx._device = VkDevice.create(
                ctx.instance, ctx.phys, window is not None, device_extensions
            )
            ctx._name_instance_objects()
            if window is not None:
                window.limit_size(*ctx.phys.max_target_size)
                ctx.create_swap_chain(window)
            ctx._desc_allocator = VkDescAllocator()
            ctx._vma = VkVmaAlloc.create(ctx.instance.instance, ctx.phys.pdev, ctx.device.device)
            ctx._pipeline_cache = VkPipelineCache.create(ctx, pipeline_cache_path)
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
        log_ = self._instance.validation_log if self._instance else None
        return log_.messages if log_ else []

    def create_swap_chain(self, window: "Wnd") -> None:
        self.swap_chain = VkSwapChain.create(
            self, window, self.constants.swap_chain_images, self.constants.vsync
        )

    def resize(self, window: "Wnd") -> None:
        """Recreates the swapchain for the window's new size (book: VkCtx.resize)."""
        assert self.swap_chain is not None, "resize needs a window's swapchain"
        self.swap_chain.cleanup(self)
        self.swap_chain = None
        self.create_swap_chain(window)

    @teardown
    def cleanup(self) -> None:
        """Destroys what exists, in reverse order of creation; safe after a failed create.

        A step that fails does not stop the others: with live VMA allocations (a leak) the
        allocator is left undestroyed, the device, surface and instance are still destroyed,
        and the first error (the VmaError) is raised at the end."""
        errors: list[BaseException] = []
        self._cleanup_member(errors, "_pipeline_cache", self)
        self._cleanup_member(errors, "_vma")
        self._cleanup_member(errors, "_desc_allocator", self)
        self._cleanup_member(errors, "swap_chain", self)
        self._cleanup_member(errors, "_device")
        self._cleanup_member(errors, "surface", self._instance)  # before the instance it needs
        self._cleanup_member(errors, "_instance")
        if errors:
            raise errors[0]

    @teardown
    def _cleanup_member(self, errors: list[BaseException], member: str, *args: Any) -> None:
        """Sets the member to None, then cleans up what it held (dropped first: once); what
        that raises is added to `errors` (and logged if not the first)."""
        held = getattr(self, member)
        setattr(self, member, None)
        if held is None:
            return
        try:
            held.cleanup(*args)
        except BaseException as exc:  # the rest of the teardown still runs
            if isinstance(held, VkVmaAlloc):
                held.abandon()  # VMA destroys no allocator with live allocations
            if errors:
                log.debug("VkCtx.cleanup: %s also failed (%s)", member, exc)
            errors.append(exc)
