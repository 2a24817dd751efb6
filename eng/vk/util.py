"""Book ch.10 (vkUtils.zig) plus the small helpers every vk module shares."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import vulkan as vk

from eng.com.interrupts import interrupts_deferred

if TYPE_CHECKING:
    from eng.vk.buf import VkBuffer
    from eng.vk.ctx import VkCtx
    from eng.vk.desc import VkDescSetLayout


MATRIX_SIZE = 64
"""Bytes in a 4x4 float matrix."""


class VulkanError(RuntimeError):
    """A Vulkan object could not be created or a device requirement is not met."""


class DeviceLostError(VulkanError):
    """VK_ERROR_DEVICE_LOST: the driver gave up on the device; nothing more will run on it."""


_SUCCESS = vk.VK_SUCCESS
_RESULT_NAMES = {
    value: name
    for name, value in sorted(vars(vk).items(), reverse=True)  # core names over _KHR aliases
    if name.startswith("VK_ERROR_") and isinstance(value, int) and value < 0
}


def check(result: int, what: str) -> None:
    """Raises unless `result` is VK_SUCCESS (book: vkUtils.zig checkResult), for the raw
    `vk.lib` calls whose VkResult the `vulkan` package does not check. One comparison when all
    is well, so it is cheap enough for every call of every frame."""
    if result != _SUCCESS:
        raise_for(result, what)


def raise_for(result: int, what: str) -> None:
    """The exception for a failed call: DeviceLostError (one line) or VulkanError."""
    if result == vk.VK_ERROR_DEVICE_LOST:
        raise DeviceLostError(
            f"the Vulkan device was lost in {what} (the driver crashed or the GPU was reset); "
            "restart the program, and update the GPU driver if it happens again"
        )
    name = _RESULT_NAMES.get(result, f"VkResult {result}")
    raise VulkanError(f"{what} failed ({name})")


class _Cleanable(Protocol):
    """What cleanup_on_error needs of an owner: a cleanup method."""

    @property
    def cleanup(self) -> Callable[..., None]: ...


_Owner = TypeVar("_Owner", bound=_Cleanable)


@contextmanager
def cleanup_on_error(owner: _Owner, *args: Any) -> Iterator[_Owner]:
    """`with cleanup_on_error(cls(), ctx) as obj:` - if the block raises (an error, Ctrl-C),
    `owner.cleanup(*args)` destroys whatever the block had stored in it so far. Create
    functions store each handle into the owner in the statement that makes it, so nothing
    made is ever out of reach of the cleanup; cleanups skip what is still None."""
    try:
        yield owner
    except BaseException:
        with interrupts_deferred():
            owner.cleanup(*args)
        raise


def vk_int(handle: Any) -> int:
    """The integer value of a `vulkan`-package handle (0 for NULL)."""
    return int(vk.ffi.cast("uintptr_t", handle))


def create_host_visible_buff(
    ctx: "VkCtx", name: str, size: int, buffer_usage: int, desc_set_layout: "VkDescSetLayout"
) -> "VkBuffer":
    """A host-visible buffer and a descriptor set of `desc_set_layout` that points at it.

    Book ch.6/10: `createHostVisibleBuff`. The buffer stays mapped for its whole life (VMA's
    MAPPED flag) instead of being mapped every frame.
    """
    # imported here, not at the top: util.py is imported by --list-gpus and --info, which must
    # work without the compiled VMA extension that vma.py (and so buf.py) loads
    from eng.vk.buf import VkBuffer
    from eng.vk.vma import VmaFlags, VmaMemoryFlags, VmaUsage

    flags = VmaFlags.HOST_ACCESS_SEQUENTIAL_WRITE | VmaFlags.MAPPED
    memory = VmaMemoryFlags.HOST_VISIBLE_AND_COHERENT
    with cleanup_on_error(
        VkBuffer.create(ctx, size, buffer_usage, flags, VmaUsage.AUTO, memory, name=name), ctx
    ) as buffer:
        desc_set = ctx.desc_allocator.add_desc_set(ctx, name, desc_set_layout)
        desc_set.set_buffer(ctx, buffer, desc_set_layout.binding, desc_set_layout.desc_type)
        return buffer


class ImageBarrier:
    """One image memory barrier (synchronization2), built once with cffi and recorded with
    `record(cmd)` as often as needed (book: the barriers of render.zig and vkTexture.zig)."""

    def __init__(
        self,
        image: Any,
        old_layout: int,
        new_layout: int,
        src_stage: int,
        src_access: int,
        dst_stage: int,
        dst_access: int,
        aspect: int = vk.VK_IMAGE_ASPECT_COLOR_BIT,
        base_mip: int = 0,
        mip_count: int = vk.VK_REMAINING_MIP_LEVELS,
    ) -> None:
        self.barrier = vk.ffi.new(
            "VkImageMemoryBarrier2*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER_2,
                "srcStageMask": src_stage,
                "srcAccessMask": src_access,
                "dstStageMask": dst_stage,
                "dstAccessMask": dst_access,
                "oldLayout": old_layout,
                "newLayout": new_layout,
                "srcQueueFamilyIndex": vk.VK_QUEUE_FAMILY_IGNORED,
                "dstQueueFamilyIndex": vk.VK_QUEUE_FAMILY_IGNORED,
                "image": image,
                "subresourceRange": {
                    "aspectMask": aspect,
                    "baseMipLevel": base_mip,
                    "levelCount": mip_count,
                    "baseArrayLayer": 0,
                    "layerCount": vk.VK_REMAINING_ARRAY_LAYERS,
                },
            },
        )
        self.dep = vk.ffi.new(
            "VkDependencyInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_DEPENDENCY_INFO,
                "imageMemoryBarrierCount": 1,
                "pImageMemoryBarriers": self.barrier,
            },
        )

    def record(self, cmd: Any) -> None:
        vk.lib.vkCmdPipelineBarrier2(cmd, self.dep)


_ZERO_OFFSET = vk.ffi.new("VkDeviceSize[1]", [0])


def bind_geometry(cmd: Any, vtx_buffer: Any, idx_buffer: Any) -> None:
    """Binds one model's vertex buffer (a VkBuffer[1] cdata, binding 0) and its uint32 index
    buffer, both from offset 0, through `vk.lib` (the draw loops)."""
    vk.lib.vkCmdBindVertexBuffers(cmd, 0, 1, vtx_buffer, _ZERO_OFFSET)
    vk.lib.vkCmdBindIndexBuffer(cmd, idx_buffer, 0, vk.VK_INDEX_TYPE_UINT32)


def copy_region(width: int, height: int) -> Any:
    """A VkBufferImageCopy of a whole tightly packed colour image, mip level 0."""
    return vk.VkBufferImageCopy(
        bufferOffset=0,
        imageSubresource=vk.VkImageSubresourceLayers(
            aspectMask=vk.VK_IMAGE_ASPECT_COLOR_BIT, mipLevel=0, baseArrayLayer=0, layerCount=1
        ),
        imageOffset=vk.VkOffset3D(x=0, y=0, z=0),
        imageExtent=vk.VkExtent3D(width=width, height=height, depth=1),
    )
