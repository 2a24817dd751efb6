"""Book ch.7/10 (render.zig: Attachment): a VMA image and its view, for colour or depth.

Its own module so that render.py and render_scn.py can both use it without importing each other.
"""

import vulkan as vk

from eng.vk.ctx import VkCtx
from eng.vk.image import VkImage, VkImageData
from eng.vk.imv import VkImageView, VkImageViewData
from eng.vk.util import cleanup_on_error
from eng.vk.vma import VmaFlags


class Attachment:
    """Book: Attachment - a VMA image and its view, for colour or depth."""

    def __init__(self) -> None:
        self.image: VkImage | None = None
        self.view: VkImageView | None = None

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
        with cleanup_on_error(cls(), ctx) as attachment:
            attachment.image = VkImage.create(
                ctx,
                VkImageData(
                    width=width,
                    height=height,
                    format=fmt,
                    usage=usage | vk.VK_IMAGE_USAGE_SAMPLED_BIT,
                    vma_flags=vma_flags,
                ),
                name,
            )
            attachment.view = VkImageView.create(
                ctx.device,
                attachment.image.image,
                VkImageViewData(format=fmt, aspect_mask=aspect),
                name,
            )
            return attachment

    def cleanup(self, ctx: VkCtx) -> None:
        if self.view is not None:
            self.view.cleanup(ctx.device)
        if self.image is not None:
            self.image.cleanup(ctx)
