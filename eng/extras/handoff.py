"""Hand-offs to a CPU device's rasterizer threads (not in the book; docs/performance.md).

lavapipe runs a pass in two steps: its queue thread shades the vertices and bins the
triangles into screen tiles, and its rasterizer threads fill the tiles only once the binned
triangles are handed to them - at the end of the pass, or when a command needs the work so
far. On a two-core machine the two steps then take turns, and a core idles while the queue
thread bins. A timestamp written inside the pass is such a command (it waits for nothing),
so the scene pass writes one every `TRIANGLES` triangles: lavapipe bins the next draws while
its rasterizer threads fill the tiles of the last ones. The draws, their order and their
state stay the same, and so does the picture. A GPU has nothing to hand off: none are written.
"""

from typing import Any

import vulkan as vk

from eng.com.common import FRAMES_IN_FLIGHT
from eng.com.interrupts import teardown
from eng.hooks import Extra
from eng.vk.ctx import VkCtx
from eng.vk.query import create_query_pool

TRIANGLES = 50_000  # drawn between two hand-offs (docs/performance.md has the measurements)
PER_FRAME = 32  # hand-offs a frame writes at most; past that the last batch grows


class HandOffs(Extra):
    """The timestamp queries of each frame slot, written only for their side effect; on a
    device that is not a CPU, or has no timestamps, nothing at all."""

    def __init__(self, triangles: int = TRIANGLES) -> None:
        self.pool: Any = None
        self.triangles = triangles
        self.written = 0  # hand-offs in the frame recorded last
        self._first = 0  # the recording frame slot's first query
        self._since = 0  # triangles drawn since the last hand-off

    def create(self, ctx: VkCtx) -> None:
        props = ctx.phys.props
        if props.deviceType != vk.VK_PHYSICAL_DEVICE_TYPE_CPU:
            return
        if not props.limits.timestampComputeAndGraphics:
            return
        count = PER_FRAME * FRAMES_IN_FLIGHT
        timestamps = vk.VK_QUERY_TYPE_TIMESTAMP
        self.pool = create_query_pool(ctx, timestamps, count, "rasterizer hand-offs")

    def before_pass(self, cmd: Any, frame: int) -> None:
        """Queries are reset outside the rendering: the frame slot's."""
        self.written = self._since = 0
        if self.pool is None:
            return
        self._first = PER_FRAME * frame
        vk.lib.vkCmdResetQueryPool(cmd, self.pool, self._first, PER_FRAME)

    def drawn(self, cmd: Any, triangles: int) -> None:
        """After each draw: hands off once `triangles` add up to the batch size."""
        self._since += triangles
        if self._since >= self.triangles and self.written < PER_FRAME and self.pool is not None:
            stage = vk.VK_PIPELINE_STAGE_2_COLOR_ATTACHMENT_OUTPUT_BIT
            vk.lib.vkCmdWriteTimestamp2(cmd, stage, self.pool, self._first + self.written)
            self.written += 1
            self._since = 0

    @teardown
    def cleanup(self, ctx: VkCtx) -> None:
        pool, self.pool = self.pool, None  # dropped first: destroyed once
        if pool is not None:
            vk.vkDestroyQueryPool(ctx.device.device, pool, None)
