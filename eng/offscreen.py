"""Rendering without a window (not in the book): colour images that stand in for the swapchain."""

import vulkan as vk

from eng.attachment import Attachment
from eng.com.common import FRAMES_IN_FLIGHT
from eng.vk.swap import Extent
from eng.vk.util import cleanup_on_error
from eng.vk.vma import VmaFlags


class OffscreenTarget:
    """Colour images to render into when there is no window (one per frame in flight)."""

    def __init__(self, attachments: list[Attachment], extent: Extent, fmt: int) -> None:
        self.attachments = attachments
        self.images = [a.image.image for a in attachments]
        self.image_views = [a.view for a in attachments]
        self.extent = extent
        self.format = fmt

    @classmethod
    def create(cls, ctx, width: int, height: int, image_flags: int = VmaFlags.NONE):
        fmt = vk.VK_FORMAT_R8G8B8A8_SRGB
        usage = vk.VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT
        with cleanup_on_error(cls([], Extent(width, height), fmt), ctx) as target:
            for i in range(FRAMES_IN_FLIGHT):
                target.attachments.append(
                    Attachment.create(ctx, width, height, fmt, usage, f"offscreen {i}", image_flags)
                )
                target.images.append(target.attachments[-1].image.image)
                target.image_views.append(target.attachments[-1].view)
            return target

    def cleanup(self, ctx) -> None:
        for attachment in self.attachments:
            attachment.cleanup(ctx)
