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


class ImageBarrier:
    """One image memory barrier (synchronization2), built once with cffi and recorded with
    `record(cmd)` as often as needed (book: the barriers of render.zig and vkTexture.zig)."""

    def __init__(
        self,
        image,
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

    def record(self, cmd) -> None:
        vk.lib.vkCmdPipelineBarrier2(cmd, self.dep)


_ZERO_OFFSET = vk.ffi.new("VkDeviceSize[1]", [0])


def bind_geometry(cmd, vtx_buffer, idx_buffer) -> None:
    """Binds one model's vertex buffer (a VkBuffer[1] cdata, binding 0) and its uint32 index
    buffer, both from offset 0, through `vk.lib` (the draw loops)."""
    vk.lib.vkCmdBindVertexBuffers(cmd, 0, 1, vtx_buffer, _ZERO_OFFSET)
    vk.lib.vkCmdBindIndexBuffer(cmd, idx_buffer, 0, vk.VK_INDEX_TYPE_UINT32)


def copy_region(width: int, height: int):
    """A VkBufferImageCopy of a whole tightly packed colour image, mip level 0."""
    return vk.VkBufferImageCopy(
        bufferOffset=0,
        imageSubresource=vk.VkImageSubresourceLayers(
            aspectMask=vk.VK_IMAGE_ASPECT_COLOR_BIT, mipLevel=0, baseArrayLayer=0, layerCount=1
        ),
        imageOffset=vk.VkOffset3D(x=0, y=0, z=0),
        imageExtent=vk.VkExtent3D(width=width, height=height, depth=1),
    )
