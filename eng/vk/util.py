"""Book ch.10 (vkUtils.zig) plus the small helpers every vk module shares."""

import vulkan as vk

MATRIX_SIZE = 64
"""Bytes in a 4x4 float matrix."""


class VulkanError(RuntimeError):
    """A Vulkan object could not be created or a device requirement is not met."""


def vk_int(handle) -> int:
    """The integer value of a `vulkan`-package handle (0 for NULL)."""
    return int(vk.ffi.cast("uintptr_t", handle))


def create_host_visible_buff(ctx, name: str, size: int, buffer_usage: int, desc_set_layout):
    """A host-visible buffer and a descriptor set of `desc_set_layout` that points at it.

    Book ch.6/10: `createHostVisibleBuff`. The buffer stays mapped for its whole life (VMA's
    MAPPED flag) instead of being mapped every frame.
    """
    from eng.vk.buf import VkBuffer
    from eng.vk.vma import VmaFlags, VmaMemoryFlags, VmaUsage

    buffer = VkBuffer.create(
        ctx,
        size,
        buffer_usage,
        VmaFlags.HOST_ACCESS_SEQUENTIAL_WRITE | VmaFlags.MAPPED,
        VmaUsage.AUTO,
        VmaMemoryFlags.HOST_VISIBLE_AND_COHERENT,
        name=name,
    )
    desc_set = ctx.desc_allocator.add_desc_set(ctx, name, desc_set_layout)
    desc_set.set_buffer(ctx, buffer, desc_set_layout.binding, desc_set_layout.desc_type)
    return buffer
