"""Rendering without a window (not in the book): colour images that stand in for the swapchain."""

from typing import Any

import vulkan as vk

from eng.attachment import Attachment
from eng.com.common import FRAMES_IN_FLIGHT
from eng.vk.ctx import VkCtx
from eng.vk.errors import cleanup_on_error
from eng.vk.imv import VkImageView
from eng.vk.swap import Extent
from eng.vk.vma import VmaFlags


class OffscreenTarget:
    """Colour images to render into when there is no window (one per frame in flight)."""

    def __init__(self, attachments: list[Attachment], extent: Extent, fmt: int) -> None:
        self.attachments = attachments
        self.images: list[Any] = [a.image.image for a in attachments if a.image is not None]
        self.image_views: list[VkImageView] = [a.view for a in attachments if a.view is not None]
        self.extent = extent
        self.format = fmt

    @classmethod
    def create(
        cls, ctx: VkCtx, width: int, height: int, image_flags: int = VmaFlags.NONE
    ) -> "OffscreenTarget":
        fmt = vk.VK_FORMAT_R8G8B8A8_SRGB
        usage = vk.VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT
        with cleanup_on_error(cls([], Extent(width, height), fmt), ctx) as target:
            for i in range(FRAMES_IN_FLIGHT):
                target.attachments.append(
                    Attachment.create(ctx, width, height, fmt, usage, f"offscreen {i}", image_flags)
                )
                made = target.attachments[-1]
                assert made.image is not None and made.view is not None, "made by create"
                target.images.append(made.image.image)
                target.image_views.append(made.view)
            return target

    def cleanup(self, ctx: VkCtx) -> None:
        for attachment in self.attachments:
            attachment.cleanup(ctx)
