"""The profiler behind `--bench` (not in the book): stage times and GPU timestamps per frame."""

from time import perf_counter, thread_time
from typing import Any

import vulkan as vk

from eng.com.common import FRAMES_IN_FLIGHT
from eng.vk.ctx import VkCtx
from eng.vk.errors import cleanup_on_error, raise_for

_FRAGMENTS = vk.VK_QUERY_PIPELINE_STATISTIC_FRAGMENT_SHADER_INVOCATIONS_BIT


class StageTimings:
    """Time spent in each stage of every frame (for the benchmark): wall-clock seconds in
    `stages`, and the main thread's own CPU seconds (`time.thread_time`) in `thread_stages`,
    so that waiting for a core (2-core machines, lavapipe's threads) is told apart from work.

    `begin()` starts a frame's clock; each `lap(name)` records the time since the last one.
    """

    def __init__(self) -> None:
        self.stages: dict[str, list[float]] = {}
        self.thread_stages: dict[str, list[float]] = {}
        self._wall = self._thread = 0.0

    def begin(self) -> None:
        self._wall, self._thread = perf_counter(), thread_time()

    def lap(self, name: str) -> None:
        wall, thread = perf_counter(), thread_time()
        self.stages.setdefault(name, []).append(wall - self._wall)
        self.thread_stages.setdefault(name, []).append(thread - self._thread)
        self._wall, self._thread = wall, thread


def no_lap(name: str) -> None:
    """Stands in for StageTimings.lap when the run is not profiled."""


class GpuTimer:
    """Timestamp queries around each frame's commands: GPU milliseconds per frame, and the
    fragment shader invocations of each frame where the device counts them.

    Results are read for a sample of the frames: lavapipe's vkGetQueryPoolResults waits for
    all submitted work, which would otherwise stop the CPU and the GPU from overlapping.
    """

    EVERY = 8  # read the timestamps of 2 frames in every 8

    def __init__(self, period_ns: float) -> None:
        self.pool: Any = None
        self.stats_pool: Any = None  # fragment shader invocations, where the device counts
        self.period_ns = period_ns
        self.pending = [False] * FRAMES_IN_FLIGHT
        self.frame_ms: list[float] = []
        self.fragments: list[int] = []
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
            if ctx.phys.features.pipelineStatisticsQuery:
                info = vk.VkQueryPoolCreateInfo(
                    sType=vk.VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                    queryType=vk.VK_QUERY_TYPE_PIPELINE_STATISTICS,
                    queryCount=FRAMES_IN_FLIGHT,
                    pipelineStatistics=_FRAGMENTS,
                )
                timer.stats_pool = vk.vkCreateQueryPool(ctx.device.device, info, None)
                name = "frame fragments"
                ctx.device.set_name(vk.VK_OBJECT_TYPE_QUERY_POOL, timer.stats_pool, name)
            return timer

    def record_begin(self, cmd: Any, frame: int) -> None:
        vk.lib.vkCmdResetQueryPool(cmd, self.pool, 2 * frame, 2)
        vk.lib.vkCmdWriteTimestamp2(
            cmd, vk.VK_PIPELINE_STAGE_2_TOP_OF_PIPE_BIT, self.pool, 2 * frame
        )
        if self.stats_pool is not None:
            vk.lib.vkCmdResetQueryPool(cmd, self.stats_pool, frame, 1)
            vk.lib.vkCmdBeginQuery(cmd, self.stats_pool, frame, 0)

    def record_end(self, cmd: Any, frame: int) -> None:
        if self.stats_pool is not None:
            vk.lib.vkCmdEndQuery(cmd, self.stats_pool, frame)
        vk.lib.vkCmdWriteTimestamp2(
            cmd, vk.VK_PIPELINE_STAGE_2_BOTTOM_OF_PIPE_BIT, self.pool, 2 * frame + 1
        )

    def _read(self, ctx: VkCtx, pool: Any, first: int, count: int) -> bool:
        """The 64-bit results of `count` queries into `_results`; False if not ready yet."""
        result = vk.lib.vkGetQueryPoolResults(
            ctx.device.device, pool, first, count, 8 * count, self._results, 8,
            vk.VK_QUERY_RESULT_64_BIT,
        )  # fmt: skip
        if result not in (vk.VK_SUCCESS, vk.VK_NOT_READY):
            raise_for(result, "vkGetQueryPoolResults")
        return result == vk.VK_SUCCESS

    def collect(self, ctx: VkCtx, frame: int, sample: bool = True) -> None:
        """Reads the queries of the frame slot's previous submission (its fence has
        signalled) if `sample`, then marks the slot pending for the next submission."""
        if self.pending[frame] and sample:
            if self._read(ctx, self.pool, 2 * frame, 2):
                ticks = self._results[1] - self._results[0]
                self.frame_ms.append(ticks * self.period_ns / 1e6)
            if self.stats_pool is not None and self._read(ctx, self.stats_pool, frame, 1):
                self.fragments.append(int(self._results[0]))
        self.pending[frame] = True

    def collect_all(self, ctx: VkCtx) -> None:
        """After the device is idle: the frames still pending."""
        for frame in range(FRAMES_IN_FLIGHT):
            self.collect(ctx, frame)
            self.pending[frame] = False

    def cleanup(self, ctx: VkCtx) -> None:
        pools, self.pool, self.stats_pool = (self.pool, self.stats_pool), None, None
        for pool in pools:  # dropped first: destroyed once
            if pool is not None:
                vk.vkDestroyQueryPool(ctx.device.device, pool, None)
