"""Screenshots (not in the book): a frame's colour image copied into a host-visible buffer.

Render (eng/render.py) owns one `FrameCapture` and records its copy at the end of a capture
frame, windowed or offscreen.
"""

from typing import Any

import numpy as np
import vulkan as vk

from eng.com.common import FRAMES_IN_FLIGHT
from eng.vk.buf import VkBuffer
from eng.vk.ctx import VkCtx
from eng.vk.record import ImageBarrier, copy_region
from eng.vk.swap import Extent
from eng.vk.sync import VkFence
from eng.vk.vma import VmaFlags

_COLOR_OPT = vk.VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL
_TRANSFER_SRC = vk.VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL
_BGRA_FORMATS = {vk.VK_FORMAT_B8G8R8A8_SRGB, vk.VK_FORMAT_B8G8R8A8_UNORM}


class FrameCapture:
    """A host-visible copy of the frame per frame slot, and (slot, extent, format) of the last
    frame copied."""

    def __init__(self) -> None:
        self._buffers: list[VkBuffer | None] = [None] * FRAMES_IN_FLIGHT
        self._captured: tuple[int, Extent, int] | None = None

    def record(
        self,
        ctx: VkCtx,
        cmd: Any,
        frame: int,
        image: Any,
        extent: Extent,
        fmt: int,
        on_screen: bool,
    ) -> None:
        """Copies the frame's colour `image` into the frame slot's host-visible buffer (made
        or remade at the size of the target; the slot's fence has signalled, so the old one is
        idle), then finishes the image (`on_screen`: for the presentation engine)."""
        size = extent.width * extent.height * 4
        old = self._buffers[frame]
        if old is not None and old.size != size:
            old.cleanup(ctx)  # a second cleanup of it destroys nothing
            self._buffers[frame] = None
        if self._buffers[frame] is None:
            self._buffers[frame] = VkBuffer.create(
                ctx,
                size,
                vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                VmaFlags.HOST_ACCESS_RANDOM | VmaFlags.MAPPED,
                name=f"screenshot {frame}",
            )
        buffer = self._buffers[frame]
        assert buffer is not None
        self._captured = (frame, extent, fmt)
        to_src = ImageBarrier(
            image,
            _COLOR_OPT,
            _TRANSFER_SRC,
            vk.VK_PIPELINE_STAGE_2_COLOR_ATTACHMENT_OUTPUT_BIT,
            vk.VK_ACCESS_2_COLOR_ATTACHMENT_WRITE_BIT,
            vk.VK_PIPELINE_STAGE_2_ALL_TRANSFER_BIT,
            vk.VK_ACCESS_2_TRANSFER_READ_BIT,
            vk.VK_IMAGE_ASPECT_COLOR_BIT,
        )
        to_src.record(cmd)
        region = copy_region(extent.width, extent.height)
        vk.vkCmdCopyImageToBuffer(cmd, image, _TRANSFER_SRC, buffer.buffer, 1, [region])
        if on_screen:  # back to the presentation engine
            back = ImageBarrier(
                image,
                _TRANSFER_SRC,
                vk.VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
                vk.VK_PIPELINE_STAGE_2_ALL_TRANSFER_BIT,
                vk.VK_ACCESS_2_TRANSFER_READ_BIT,
                vk.VK_PIPELINE_STAGE_2_NONE,
                0,
                vk.VK_IMAGE_ASPECT_COLOR_BIT,
            )
            back.record(cmd)

    @property
    def has_capture(self) -> bool:
        return self._captured is not None

    def read(self, ctx: VkCtx, fences: list[VkFence]) -> np.ndarray:
        """The last captured frame as an (height, width, 4) RGBA uint8 array, once its frame
        slot's fence (of `fences`) has signalled; its buffer is then destroyed, so a one-off
        screenshot keeps no memory."""
        assert self._captured is not None, "read follows a render(capture=True)"
        frame, extent, fmt = self._captured
        fences[frame].wait(ctx)
        self._captured = None
        buffer = self._buffers[frame]
        assert buffer is not None, "the captured frame's buffer"
        data = buffer.read(ctx, extent.width * extent.height * 4)
        buffer.cleanup(ctx)  # a second cleanup of it destroys nothing
        self._buffers[frame] = None
        pixels = np.frombuffer(data, np.uint8).reshape(extent.height, extent.width, 4)
        if fmt in _BGRA_FORMATS:
            pixels = pixels[..., [2, 1, 0, 3]]
        return pixels.copy()

    def cleanup(self, ctx: VkCtx) -> None:
        for buffer in self._buffers:
            if buffer is not None:
                buffer.cleanup(ctx)
