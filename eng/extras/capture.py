"""Screenshots (not in the book): a frame's colour image copied into a host-visible buffer.

An extra (eng/hooks.py): armed for a frame, it has that frame recorded afresh and copies the
image at the end of its commands, windowed or offscreen; `take` reads it once done.
"""

from typing import Any

import numpy as np
import vulkan as vk

from eng.com.common import FRAMES_IN_FLIGHT
from eng.com.interrupts import teardown
from eng.hooks import Extra, Target
from eng.render import Render
from eng.vk.buf import VkBuffer
from eng.vk.ctx import VkCtx
from eng.vk.record import ImageBarrier, copy_region
from eng.vk.swap import Extent
from eng.vk.vma import VmaFlags

_COLOR_OPT = vk.VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL
_TRANSFER_SRC = vk.VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL
_BGRA_FORMATS = {vk.VK_FORMAT_B8G8R8A8_SRGB, vk.VK_FORMAT_B8G8R8A8_UNORM}


class FrameCapture(Extra):
    """`--screenshot`: with `last`, the last frame of a run is kept in `image`; with `every`
    (a window, which may close at any frame), every frame is copied and the last one read at
    the end. `arm()` asks for the next frame (key F12)."""

    def __init__(self, last: bool = False, every: bool = False) -> None:
        self.last = last
        self.every = every
        self.image: np.ndarray | None = None
        self._ctx: VkCtx | None = None
        self._armed = False
        self._buffers: list[VkBuffer | None] = [None] * FRAMES_IN_FLIGHT
        self._captured: tuple[int, Extent, int] | None = None

    def create(self, ctx: VkCtx) -> None:
        self._ctx = ctx

    def arm(self) -> None:
        self._armed = True

    def before_frame(self, eng_ctx: Any, render: Render, last: bool) -> None:
        self._armed = self._armed or self.every or (self.last and last)

    def frame_start(self, frame: int) -> bool:
        return self._armed

    def end_commands(self, cmd: Any, frame: int, image: Any, target: Target) -> None:
        if self._armed:
            self._armed = False
            self._record(cmd, frame, image, target.extent, target.format)

    def finished(self, render: Render) -> None:
        if (self.last or self.every) and self._captured is not None:
            self.image = self.take()

    def _record(self, cmd: Any, frame: int, image: Any, extent: Extent, fmt: int) -> None:
        """Copies the frame's colour `image` into the frame slot's host-visible buffer (made
        or remade at the size of the target; the slot's fence has signalled, so the old one is
        idle), then makes it a colour attachment again."""
        ctx = self._ctx
        assert ctx is not None, "made by create"
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
        back = ImageBarrier(
            image,
            _TRANSFER_SRC,
            _COLOR_OPT,
            vk.VK_PIPELINE_STAGE_2_ALL_TRANSFER_BIT,
            vk.VK_ACCESS_2_TRANSFER_READ_BIT,
            vk.VK_PIPELINE_STAGE_2_COLOR_ATTACHMENT_OUTPUT_BIT,
            vk.VK_ACCESS_2_COLOR_ATTACHMENT_WRITE_BIT,
            vk.VK_IMAGE_ASPECT_COLOR_BIT,
        )
        back.record(cmd)

    def take(self) -> np.ndarray | None:
        """The frame copied last as an (height, width, 4) RGBA uint8 array, once the device
        has finished it (None if none was); its buffer is then destroyed, so a one-off
        screenshot keeps no memory."""
        ctx = self._ctx
        if self._captured is None or ctx is None:
            return None
        frame, extent, fmt = self._captured
        ctx.device.wait()
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

    @teardown
    def cleanup(self, ctx: VkCtx) -> None:
        for buffer in self._buffers:
            if buffer is not None:
                buffer.cleanup(ctx)
        self._buffers = [None] * FRAMES_IN_FLIGHT
