"""Book ch.7/10 (render.zig: Attachment): a VMA image and its view, for colour or depth.

Its own module so that render.py and render_scn.py can both use it without importing each other.
"""

import vulkan as vk

from eng.vk.ctx import VkCtx
from eng.vk.errors import cleanup_on_error
from eng.vk.image import VkImageData, VkImageWithView
from eng.vk.vma import VmaFlags


class Attachment(VkImageWithView):
    """Book: Attachment - a VMA image and its view, for colour or depth."""

    @classmethod
    def create(
        cls,
        ctx: VkCtx,
        width: int,
        height: int,
        fmt: int,
        usage: int,
        name: str = "",
        vma_flags: int = VmaFlags.NONE,
    ) -> "Attachment":
        depth = bool(usage & vk.VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT)
        aspect = vk.VK_IMAGE_ASPECT_DEPTH_BIT if depth else vk.VK_IMAGE_ASPECT_COLOR_BIT
        usage |= vk.VK_IMAGE_USAGE_SAMPLED_BIT
        data = VkImageData(width, height, usage, format=fmt, vma_flags=vma_flags)
        with cleanup_on_error(cls(), ctx) as attachment:
            attachment.create_image_and_view(ctx, data, aspect, name)
            return attachment
