"""Book ch.10 (vma.zig): the Vulkan Memory Allocator and the flags the chapter uses.

`_vma` is our cffi extension over vk_mem_alloc.h (built by _vma_build.py). Vulkan handles cross
between the `vulkan` package's cffi and ours through their integer value.
"""

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import TYPE_CHECKING, Any, TypeVar

import vulkan as vk

from eng.com.interrupts import teardown
from eng.vk._vma import ffi, lib
from eng.vk.errors import cleanup_on_error, result_name

if TYPE_CHECKING:
    from eng.vk.ctx import VkCtx

log = logging.getLogger("eng.vk")

VK_API_VERSION_1_3 = vk.VK_MAKE_VERSION(1, 3, 0)
PREFERRED_BLOCK_SIZE = 64 * 2**20
"""VMA's block size for large heaps (its default is 256 MiB). Textures of 1024x1024 with
mipmaps (5.6 MB) fill 64 MiB blocks to 96%, and a scene's last block wastes less."""


class VmaFlags(IntFlag):
    """VmaAllocationCreateFlags used by the chapter."""

    NONE = 0
    HOST_ACCESS_SEQUENTIAL_WRITE = lib.VMA_ALLOCATION_CREATE_HOST_ACCESS_SEQUENTIAL_WRITE_BIT
    HOST_ACCESS_RANDOM = lib.VMA_ALLOCATION_CREATE_HOST_ACCESS_RANDOM_BIT
    MAPPED = lib.VMA_ALLOCATION_CREATE_MAPPED_BIT
    DEDICATED_MEMORY = lib.VMA_ALLOCATION_CREATE_DEDICATED_MEMORY_BIT


class VmaUsage(IntEnum):
    """VmaMemoryUsage: the chapter lets VMA choose (AUTO)."""

    AUTO = lib.VMA_MEMORY_USAGE_AUTO
    AUTO_PREFER_DEVICE = lib.VMA_MEMORY_USAGE_AUTO_PREFER_DEVICE
    AUTO_PREFER_HOST = lib.VMA_MEMORY_USAGE_AUTO_PREFER_HOST


class VmaMemoryFlags(IntFlag):
    """Required memory property flags."""

    NONE = 0
    HOST_VISIBLE_AND_COHERENT = (
        vk.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | vk.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
    )


class VmaError(RuntimeError):
    """A VMA call failed, or the allocator was destroyed with live allocations."""


def handle_int(handle: Any) -> int:
    """The integer value of a Vulkan handle from either cffi module."""
    if isinstance(handle, int):
        return handle
    if isinstance(handle, ffi.CData):
        return int(ffi.cast("uintptr_t", handle))
    return int(vk.ffi.cast("uintptr_t", handle))


def to_vma(ctype: str, handle: Any) -> Any:
    """A `vulkan`-package handle as this extension's C type (e.g. "VkDevice")."""
    return ffi.cast(ctype, handle_int(handle))


def to_vk(ctype: str, handle: Any) -> Any:
    """A handle of this extension as the `vulkan` package's C type."""
    return vk.ffi.cast(ctype, handle_int(handle))


def vma_version() -> str:
    """The VMA version this extension was built from, and the header's path (`shown_build`)."""
    return shown_build(ffi.string(lib.zvkVmaVersion()).decode())


def shown_build(built: str) -> str:
    """`built` ("3.2.1 (/path/vk_mem_alloc.h)", as _vma_build.py records it) with the header
    only where it is an absolute path that is still there (a wheel's build folder is gone)."""
    version, _, header = built.partition(" (")
    header = header.removesuffix(")")
    return f"{version} ({header})" if os.path.isabs(header) and os.path.isfile(header) else version


def name_allocation(ctx: "VkCtx", allocation: Any, info: Any, flags: int, name: str) -> None:
    """Names a VMA allocation, and its VkDeviceMemory when it has one of its own."""
    lib.vmaSetAllocationName(ctx.vma.vma_alloc, allocation, name.encode())
    if flags & VmaFlags.DEDICATED_MEMORY:
        memory = to_vk("VkDeviceMemory", info.deviceMemory)
        ctx.device.set_name(vk.VK_OBJECT_TYPE_DEVICE_MEMORY, memory, f"{name} memory")


def check(result: int, what: str) -> None:
    if result != 0:
        raise VmaError(f"{what} failed ({result_name(result)})")


def flush(ctx: "VkCtx", allocation: Any, offset: int, size: int) -> None:
    """vmaFlushAllocation: makes CPU writes to [offset, offset + size) of a mapped allocation
    visible to the device. VMA does nothing for HOST_COHERENT memory, but HOST_ACCESS_*
    allocations without it may get non-coherent memory on a real GPU."""
    check(lib.vmaFlushAllocation(ctx.vma.vma_alloc, allocation, offset, size), "vmaFlushAllocation")


def invalidate(ctx: "VkCtx", allocation: Any, offset: int, size: int) -> None:
    """vmaInvalidateAllocation: makes device writes to a mapped allocation visible to the CPU
    before it reads them (nothing for HOST_COHERENT memory, like `flush`)."""
    result = lib.vmaInvalidateAllocation(ctx.vma.vma_alloc, allocation, offset, size)
    check(result, "vmaInvalidateAllocation")


_MAP_FAILED = 2**64 - 1  # (void*)-1: what mmap returns on failure, and lavapipe passes on


def mapped_pointer(ptr: Any, what: str) -> Any:
    """`ptr` if it is an address the CPU can write to; VmaError for NULL or mmap's MAP_FAILED
    (lavapipe returns it as a mapping when the process is out of address space: writing
    through it would be a segfault)."""
    address = int(ffi.cast("uintptr_t", ptr))
    if address in (0, _MAP_FAILED, 2**32 - 1):
        raise VmaError(
            f"cannot map the memory of {what}: the driver returned no address "
            "(out of address space? raise `ulimit -v`)"
        )
    return ptr


@dataclass(frozen=True, slots=True)
class VmaResourceKind:
    """What VMA allocates memory for: a buffer or an image, with its C calls."""

    ctype: str  # the handle's C type, "VkBuffer" or "VkImage"
    object_type: int  # for the debug name
    create_name: str
    create: Any  # vmaCreateBuffer or vmaCreateImage
    destroy: Any  # vmaDestroyBuffer or vmaDestroyImage (both skip NULL handles)


BUFFER = VmaResourceKind(
    "VkBuffer",
    vk.VK_OBJECT_TYPE_BUFFER,
    "vmaCreateBuffer",
    lib.vmaCreateBuffer,
    lib.vmaDestroyBuffer,
)
IMAGE = VmaResourceKind(
    "VkImage", vk.VK_OBJECT_TYPE_IMAGE, "vmaCreateImage", lib.vmaCreateImage, lib.vmaDestroyImage
)
_Made = TypeVar("_Made")


def create_resource(
    ctx: "VkCtx",
    kind: VmaResourceKind,
    create_info: Any,
    alloc_fields: dict[str, Any],
    name: str,
    what: str,
    make: Callable[[Any, Any, Any], _Made],
) -> _Made:
    """Book ch.10 (vkBuffer.zig / vkImage.zig create): vmaCreateBuffer or vmaCreateImage with
    a VmaAllocationCreateInfo of `alloc_fields`, the debug names, then `make(handle,
    allocation, mapped_data)` builds the owner. Until `make` has returned, an error or Ctrl-C
    destroys the handle and its memory here, so nothing made is ever left without an owner."""
    alloc_info = ffi.new("VmaAllocationCreateInfo*", alloc_fields)
    p_handle = ffi.new(f"{kind.ctype}*")  # NULL until made: the destroy call skips NULLs
    p_allocation = ffi.new("VmaAllocation*")
    info = ffi.new("VmaAllocationInfo*")
    try:
        result = kind.create(
            ctx.vma.vma_alloc, create_info, alloc_info, p_handle, p_allocation, info
        )
        check(result, f"{kind.create_name}({name or what})")
        handle = to_vk(kind.ctype, p_handle[0])
        if name:
            ctx.device.set_name(kind.object_type, handle, name)
            name_allocation(ctx, p_allocation[0], info, alloc_fields["flags"], name)
        mapped = None
        if alloc_fields["flags"] & VmaFlags.MAPPED:  # checked: a failed mapping is an error
            mapped = mapped_pointer(info.pMappedData, name or f"a {what}-byte {kind.ctype}")
        return make(handle, p_allocation[0], mapped)
    except BaseException:
        kind.destroy(ctx.vma.vma_alloc, p_handle[0], p_allocation[0])
        raise


@teardown
def cleanup_resource(ctx: "VkCtx", kind: VmaResourceKind, handle: Any, allocation: Any) -> None:
    """Book ch.10 (vkBuffer.zig / vkImage.zig cleanup): vmaDestroyBuffer or vmaDestroyImage
    of what create_resource made, the handle and its memory together."""
    kind.destroy(ctx.vma.vma_alloc, to_vma(kind.ctype, handle), allocation)


@dataclass(frozen=True, slots=True)
class VmaStats:
    """Totals of vmaCalculateStatistics: allocations live in blocks (VkDeviceMemory objects)."""

    allocations: int
    blocks: int
    allocation_bytes: int
    block_bytes: int


class VkVmaAlloc:
    """Owns the VmaAllocator; created by VkCtx after the device and destroyed last."""

    def __init__(self) -> None:
        self._handle = ffi.new("VmaAllocator*")  # vmaCreateAllocator writes it, cleanup reads it
        self.vma_alloc = None
        self.live_at_destroy: int | None = None  # allocations alive when cleanup() ran

    @classmethod
    def create(cls, instance: Any, phys_device: Any, device: Any) -> "VkVmaAlloc":
        info = ffi.new(
            "VmaAllocatorCreateInfo*",
            {
                "physicalDevice": to_vma("VkPhysicalDevice", phys_device),
                "device": to_vma("VkDevice", device),
                "instance": to_vma("VkInstance", instance),
                "pVulkanFunctions": lib.zvkVulkanFunctions(),
                "vulkanApiVersion": VK_API_VERSION_1_3,
                "preferredLargeHeapBlockSize": PREFERRED_BLOCK_SIZE,
            },
        )
        with cleanup_on_error(cls()) as vma:
            check(lib.vmaCreateAllocator(info, vma._handle), "vmaCreateAllocator")
            vma.vma_alloc = vma._handle[0]
            return vma

    def statistics(self) -> VmaStats:
        stats = ffi.new("VmaTotalStatistics*")
        lib.vmaCalculateStatistics(self.vma_alloc, stats)
        total = stats.total.statistics
        return VmaStats(
            allocations=total.allocationCount,
            blocks=total.blockCount,
            allocation_bytes=total.allocationBytes,
            block_bytes=total.blockBytes,
        )

    def heap_budgets(self, heap_count: int) -> list[tuple[int, int]]:
        """(usage, budget) in bytes for each of the device's memory heaps."""
        budgets = ffi.new("VmaBudget[]", lib.VK_MAX_MEMORY_HEAPS)
        lib.vmaGetHeapBudgets(self.vma_alloc, budgets)
        return [(budgets[i].usage, budgets[i].budget) for i in range(heap_count)]

    def stats_json(self) -> str:
        """vmaBuildStatsString with the detailed map: VMA's JSON dump (what its VmaDumpVis
        tool reads), every block's allocations listed with their offset, size, usage and name."""
        text = ffi.new("char**")
        lib.vmaBuildStatsString(self.vma_alloc, text, 1)
        try:
            return ffi.string(text[0]).decode("utf-8", errors="replace")
        finally:
            lib.vmaFreeStatsString(self.vma_alloc, text[0])

    @teardown
    def cleanup(self) -> None:
        """Destroys the allocator; live allocations are a bug and raise VmaError (the
        allocator is then kept, for the leaks to be freed and cleanup called again, or
        `abandon`ed)."""
        if self._handle[0] == ffi.NULL:
            return
        self.vma_alloc = self._handle[0]
        live = self.live_at_destroy = self.statistics().allocations
        if live:
            raise VmaError(f"VMA allocator destroyed with {live} live allocation(s) (a leak)")
        allocator = self._handle[0]
        self._handle[0], self.vma_alloc = ffi.NULL, None  # dropped first: destroyed once
        lib.vmaDestroyAllocator(allocator)

    def abandon(self) -> None:
        """Drops the allocator without destroying it, after `cleanup` found live allocations:
        VMA cannot destroy an allocator that still has them. Its memory stays with the
        device, whose destruction the validation layers then report object by object."""
        if self._handle[0] != ffi.NULL:
            log.debug("VMA allocator left undestroyed: %s live allocation(s)", self.live_at_destroy)
        self._handle[0], self.vma_alloc = ffi.NULL, None
