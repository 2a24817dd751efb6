"""Book ch.10 (vkBuffer.zig): buffers allocated through VMA."""

from typing import TYPE_CHECKING, Any

import vulkan as vk

from eng.com.interrupts import teardown
from eng.vk import vma
from eng.vk.vma import VmaFlags, VmaMemoryFlags, VmaUsage, ffi, lib

if TYPE_CHECKING:
    from eng.vk.ctx import VkCtx


class VkBuffer:
    """A VkBuffer and its VMA allocation; `mapped_data` is set for MAPPED allocations."""

    def __init__(self, size: int, buffer: Any, allocation: Any, mapped_data: Any) -> None:
        self.size = size
        self.buffer = buffer  # the `vulkan` package's VkBuffer handle
        self.allocation = allocation
        self.mapped_data = mapped_data  # void* (this extension's cffi) or None

    @classmethod
    def create(
        cls,
        ctx: "VkCtx",
        size: int,
        buffer_usage: int,
        vma_flags: int = VmaFlags.NONE,
        vma_usage: VmaUsage = VmaUsage.AUTO,
        required_flags: int = VmaMemoryFlags.NONE,
        name: str = "",
    ) -> "VkBuffer":
        create_info = ffi.new(
            "VkBufferCreateInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                "size": size,
                "usage": buffer_usage,
                "sharingMode": vk.VK_SHARING_MODE_EXCLUSIVE,
            },
        )
        return vma.create_resource(
            ctx,
            vma.BUFFER,
            create_info,
            {"flags": vma_flags, "usage": vma_usage, "requiredFlags": required_flags},
            name,
            str(size),
            lambda buffer, allocation, mapped: cls(size, buffer, allocation, mapped),
        )

    def map(self, ctx: "VkCtx") -> Any:
        """vmaMapMemory: a void* to the buffer's memory (pair with unmap)."""
        p_data = ffi.new("void**")
        vma.check(lib.vmaMapMemory(ctx.vma.vma_alloc, self.allocation, p_data), "vmaMapMemory")
        try:
            return vma.mapped_pointer(p_data[0], f"a {self.size}-byte buffer")
        except vma.VmaError:
            self.unmap(ctx)
            raise

    def unmap(self, ctx: "VkCtx") -> None:
        lib.vmaUnmapMemory(ctx.vma.vma_alloc, self.allocation)

    def flush(self, ctx: "VkCtx", offset: int = 0, size: int | None = None) -> None:
        """Makes CPU writes to the mapped memory visible to the device (vmaFlushAllocation;
        nothing to do on HOST_COHERENT memory, which VMA checks). `write` calls it; whoever
        writes through `mapped_data` must call it after writing."""
        vma.flush(ctx, self.allocation, offset, self.size - offset if size is None else size)

    def write(self, ctx: "VkCtx", data: Any, offset: int = 0) -> None:
        """Copies bytes (anything with the buffer protocol) into the buffer's memory, then
        flushes them; the size is checked first, so the copy can never run past the
        allocation."""
        view = memoryview(data).cast("B")
        if offset < 0 or offset + view.nbytes > self.size:
            raise ValueError(f"{view.nbytes} bytes at {offset} overflow a {self.size}-byte buffer")
        ptr = self.mapped_data if self.mapped_data is not None else self.map(ctx)
        try:
            ffi.memmove(ffi.cast("char*", ptr) + offset, view, view.nbytes)
            self.flush(ctx, offset, view.nbytes)  # while mapped, as Vulkan requires
        finally:
            if self.mapped_data is None:
                self.unmap(ctx)

    def read(self, ctx: "VkCtx", size: int | None = None) -> bytes:
        """The buffer's first `size` bytes (all by default), invalidated first so that the
        device's writes are visible on non-coherent memory (vmaInvalidateAllocation)."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"{size} bytes read from a {self.size}-byte buffer")
        ptr = self.mapped_data if self.mapped_data is not None else self.map(ctx)
        try:
            vma.invalidate(ctx, self.allocation, 0, size)
            return bytes(ffi.buffer(ptr, size))
        finally:
            if self.mapped_data is None:
                self.unmap(ctx)

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        buffer, allocation, self.buffer, self.allocation = self.buffer, self.allocation, None, None
        if allocation is not None:  # dropped first: a second cleanup destroys nothing
            vma.cleanup_resource(ctx, vma.BUFFER, buffer, allocation)


STAGING_DEDICATED_MIN = 1 << 20


def staging_flags(size: int) -> int:
    """VMA flags for a transient, mapped upload buffer of `size` bytes. Large ones get their
    own VkDeviceMemory, freed with them, so they never grow VMA's long-lived blocks."""
    flags = VmaFlags.HOST_ACCESS_SEQUENTIAL_WRITE | VmaFlags.MAPPED
    return flags | VmaFlags.DEDICATED_MEMORY if size >= STAGING_DEDICATED_MIN else flags


def record_copy(cmd: Any, src: VkBuffer, dst: VkBuffer, size: int | None = None) -> None:
    """Records a copy of `src` into `dst` (book: modelsCache.zig recordTransfer)."""
    region = vk.VkBufferCopy(srcOffset=0, dstOffset=0, size=src.size if size is None else size)
    vk.vkCmdCopyBuffer(cmd, src.buffer, dst.buffer, 1, [region])
