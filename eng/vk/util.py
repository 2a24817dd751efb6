"""Book ch.10 (vkUtils.zig): the matrix size, host-visible buffers, and the integer value of a
handle (errors: eng/vk/errors.py; command recording helpers: eng/vk/record.py)."""

from typing import TYPE_CHECKING, Any

import vulkan as vk

from eng.vk.buf import VkBuffer
from eng.vk.errors import cleanup_on_error
from eng.vk.vma import VmaFlags, VmaMemoryFlags, VmaUsage

if TYPE_CHECKING:
    from eng.vk.ctx import VkCtx
    from eng.vk.desc import VkDescSetLayout


MATRIX_SIZE = 64
"""Bytes in a 4x4 float matrix."""


def vk_int(handle: Any) -> int:
    """The integer value of a `vulkan`-package handle (0 for NULL)."""
    return int(vk.ffi.cast("uintptr_t", handle))


def create_host_visible_buff(
    ctx: "VkCtx", name: str, size: int, buffer_usage: int, desc_set_layout: "VkDescSetLayout"
) -> VkBuffer:
    """A host-visible buffer and a descriptor set of `desc_set_layout` that points at it.

    Book ch.6/10: `createHostVisibleBuff`. The buffer stays mapped for its whole life (VMA's
    MAPPED flag) instead of being mapped every frame; write it with `VkBuffer.write` (which
    flushes), or flush after writing through `mapped_data`.
    """
    flags = VmaFlags.HOST_ACCESS_SEQUENTIAL_WRITE | VmaFlags.MAPPED
    memory = VmaMemoryFlags.HOST_VISIBLE_AND_COHERENT
    with cleanup_on_error(
        VkBuffer.create(ctx, size, buffer_usage, flags, VmaUsage.AUTO, memory, name=name), ctx
    ) as buffer:
        desc_set = ctx.desc_allocator.add_desc_set(ctx, name, desc_set_layout)
        desc_set.set_buffer(ctx, buffer, desc_set_layout.binding, desc_set_layout.desc_type)
        return buffer
