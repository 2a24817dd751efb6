"""Rendering without a window (not in the book): colour images that stand in for the swapchain
(a `Target` of eng/hooks.py, which Render creates and destroys)."""

from typing import Any

import vulkan as vk

from eng.attachment import Attachment
from eng.com.common import FRAMES_IN_FLIGHT
from eng.com.interrupts import teardown
from eng.vk.ctx import VkCtx
from eng.vk.errors import VulkanError
from eng.vk.imv import VkImageView
from eng.vk.swap import Extent


class OffscreenTarget:
    """Colour images to render into when there is no window (one per frame in flight)."""

    def __init__(self, width: int, height: int) -> None:
        self.attachments: list[Attachment] = []
        self.images: list[Any] = []
        self.image_views: list[VkImageView] = []
        self.extent = Extent(width, height)
        self.format = vk.VK_FORMAT_R8G8B8A8_SRGB

    def create(self, ctx: VkCtx, image_flags: int) -> None:
        width, height = self.extent.width, self.extent.height
        max_width, max_height = ctx.phys.max_target_size
        if width > max_width or height > max_height:
            raise VulkanError(
                f"--size {width}x{height} is larger than {ctx.phys.name} can render "
                f"({max_width}x{max_height} at most)"
            )
        usage = vk.VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT
        for i in range(FRAMES_IN_FLIGHT):
            self.attachments.append(
                Attachment.create(
                    ctx, width, height, self.format, usage, f"offscreen {i}", image_flags
                )
            )
            made = self.attachments[-1]
            assert made.image is not None and made.view is not None, "made by create"
            self.images.append(made.image.image)
            self.image_views.append(made.view)

    @teardown
    def cleanup(self, ctx: VkCtx) -> None:
        attachments, self.attachments = self.attachments, []
        for attachment in attachments:  # emptied first: never destroyed twice
            attachment.cleanup(ctx)
