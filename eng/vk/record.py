"""Helpers for recording command buffers (not in the book's vkUtils.zig): an image barrier
built once, the draw loops' geometry binding and a whole-image copy region."""

from typing import Any

import vulkan as vk


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
