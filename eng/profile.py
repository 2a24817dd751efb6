"""The profiler behind `--bench` (not in the book): stage times and GPU timestamps per frame."""

from typing import Any

import vulkan as vk

from eng.com.common import FRAMES_IN_FLIGHT
from eng.vk.ctx import VkCtx
from eng.vk.util import cleanup_on_error, raise_for


class StageTimings:
    """Seconds spent in each stage of every frame (for the benchmark)."""

    def __init__(self) -> None:
        self.stages: dict[str, list[float]] = {}

    def add(self, **stages: float) -> None:
        for name, seconds in stages.items():
            self.stages.setdefault(name, []).append(seconds)


class GpuTimer:
    """Timestamp queries around each frame's commands: GPU milliseconds per frame.

    Results are read for a sample of the frames: lavapipe's vkGetQueryPoolResults waits for
    all submitted work, which would otherwise stop the CPU and the GPU from overlapping.
    """

    EVERY = 8  # read the timestamps of 2 frames in every 8

    def __init__(self, period_ns: float) -> None:
        self.pool: Any = None
        self.period_ns = period_ns
        self.pending = [False] * FRAMES_IN_FLIGHT
        self.frame_ms: list[float] = []
        self._results = vk.ffi.new("uint64_t[2]")

    @classmethod
    def create(cls, ctx: VkCtx) -> "GpuTimer":
        info = vk.VkQueryPoolCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
            queryType=vk.VK_QUERY_TYPE_TIMESTAMP,
            queryCount=2 * FRAMES_IN_FLIGHT,
        )
        with cleanup_on_error(cls(ctx.phys.limits.timestampPeriod), ctx) as timer:
            timer.pool = vk.vkCreateQueryPool(ctx.device.device, info, None)
            ctx.device.set_name(vk.VK_OBJECT_TYPE_QUERY_POOL, timer.pool, "frame timestamps")
            return timer

    def record_begin(self, cmd: Any, frame: int) -> None:
        vk.lib.vkCmdResetQueryPool(cmd, self.pool, 2 * frame, 2)
        vk.lib.vkCmdWriteTimestamp2(
            cmd, vk.VK_PIPELINE_STAGE_2_TOP_OF_PIPE_BIT, self.pool, 2 * frame
        )

    def record_end(self, cmd: Any, frame: int) -> None:
        vk.lib.vkCmdWriteTimestamp2(
            cmd, vk.VK_PIPELINE_STAGE_2_BOTTOM_OF_PIPE_BIT, self.pool, 2 * frame + 1
        )

    def collect(self, ctx: VkCtx, frame: int, sample: bool = True) -> None:
        """Reads the timestamps of the frame slot's previous submission (its fence has
        signalled) if `sample`, then marks the slot pending for the next submission."""
        if self.pending[frame] and sample:
            result = vk.lib.vkGetQueryPoolResults(
                ctx.device.device,
                self.pool,
                2 * frame,
                2,
                16,
                self._results,
                8,
                vk.VK_QUERY_RESULT_64_BIT,
            )
            if result == vk.VK_SUCCESS:
                ticks = self._results[1] - self._results[0]
                self.frame_ms.append(ticks * self.period_ns / 1e6)
            elif result != vk.VK_NOT_READY:
                raise_for(result, "vkGetQueryPoolResults")
        self.pending[frame] = True

    def collect_all(self, ctx: VkCtx) -> None:
        """After the device is idle: the frames still pending."""
        for frame in range(FRAMES_IN_FLIGHT):
            self.collect(ctx, frame)
            self.pending[frame] = False

    def cleanup(self, ctx: VkCtx) -> None:
        pool, self.pool = self.pool, None  # dropped first: destroyed once
        if pool is not None:
            vk.vkDestroyQueryPool(ctx.device.device, pool, None)
