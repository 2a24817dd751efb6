"""The profiler behind `--bench` (not in the book): stage times and GPU timestamps per frame,
an extra (eng/hooks.py) that watches each frame's stages and brackets its commands."""

from dataclasses import dataclass
from time import perf_counter, process_time, thread_time
from typing import Any

import vulkan as vk

from eng.com.common import FRAMES_IN_FLIGHT
from eng.com.interrupts import teardown
from eng.hooks import Extra, Target
from eng.render import Render
from eng.vk.ctx import VkCtx
from eng.vk.errors import cleanup_on_error, raise_for
from eng.vk.query import create_query_pool

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
        with cleanup_on_error(cls(ctx.phys.limits.timestampPeriod), ctx) as timer:
            timestamps, count = vk.VK_QUERY_TYPE_TIMESTAMP, 2 * FRAMES_IN_FLIGHT
            timer.pool = create_query_pool(ctx, timestamps, count, "frame timestamps")
            if ctx.phys.features.pipelineStatisticsQuery:
                timer.stats_pool = create_query_pool(
                    ctx,
                    vk.VK_QUERY_TYPE_PIPELINE_STATISTICS,
                    FRAMES_IN_FLIGHT,
                    "frame fragments",
                    _FRAGMENTS,
                )
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

    @teardown
    def cleanup(self, ctx: VkCtx) -> None:
        pools, self.pool, self.stats_pool = (self.pool, self.stats_pool), None, None
        for pool in pools:  # dropped first: destroyed once
            if pool is not None:
                vk.vkDestroyQueryPool(ctx.device.device, pool, None)


@dataclass
class Measured:
    """The frames a benchmark measured (after its warm-up): how many, wall-clock seconds,
    process CPU seconds (all threads) and the main thread's CPU seconds (the engine and every
    extra, hooks included)."""

    frames: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    thread_seconds: float = 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class Profiler(Extra):
    """`--bench`: stage times of every frame, GPU time and fragments of a sample of them, and
    when the first frame was finished on the GPU (`first_frame_done`, perf_counter()).

    The first `warmup` frames are rendered but not measured; with `seconds`, the run ends
    once that long was measured (`ends_run`). `measured` holds the figures at the end."""

    def __init__(self, warmup: int = 0, seconds: float | None = None) -> None:
        self.warmup = warmup
        self.seconds = seconds
        self.timings = StageTimings()
        self.gpu_timer: GpuTimer | None = None
        self.first_frame_done = 0.0
        self.measured = Measured()
        self._ctx: VkCtx | None = None
        self._rendered = 0
        self._start: tuple[float, float, float, int] | None = None  # wall, CPU, thread, frames

    def create(self, ctx: VkCtx) -> None:
        self._ctx = ctx
        self.gpu_timer = GpuTimer.create(ctx)

    def ends_run(self) -> bool:
        return (
            self.seconds is not None
            and self._start is not None
            and perf_counter() - self._start[0] >= self.seconds
        )

    def _measure_from_now(self) -> None:
        """The warm-up is over: what was timed so far is dropped."""
        self.timings = StageTimings()
        if self.gpu_timer is not None:  # the warm-up's queries are never read
            self.gpu_timer.pending = [False] * FRAMES_IN_FLIGHT
            self.gpu_timer.frame_ms.clear()
            self.gpu_timer.fragments.clear()
        self._start = (perf_counter(), process_time(), thread_time(), self._rendered)

    def before_frame(self, eng_ctx: Any, render: Render, last: bool) -> None:
        if self._start is None and self._rendered >= self.warmup:
            self._measure_from_now()
        self.timings.begin()

    def stage(self, name: str, frame: int) -> None:
        if name == "acquire" and self.gpu_timer is not None and self._ctx is not None:
            self.gpu_timer.collect(self._ctx, frame, self._rendered % GpuTimer.EVERY < 2)
        self.timings.lap(name)

    def begin_commands(self, cmd: Any, frame: int) -> None:
        if self.gpu_timer is not None:
            self.gpu_timer.record_begin(cmd, frame)

    def end_commands(self, cmd: Any, frame: int, image: Any, target: Target) -> None:
        if self.gpu_timer is not None:
            self.gpu_timer.record_end(cmd, frame)

    def after_frame(self, render: Render, rendered: int) -> None:
        self._rendered = rendered
        if rendered == 1:
            render.ctx.device.wait()  # when did the first frame finish?
            self.first_frame_done = perf_counter()

    def finished(self, render: Render) -> None:
        if self._start is None:  # the run ended in its warm-up: nothing is measured
            self._measure_from_now()
        assert self._start is not None, "set by _measure_from_now"
        wall, cpu, thread, before = self._start
        self.measured = Measured(
            self._rendered - before,
            perf_counter() - wall,
            process_time() - cpu,
            thread_time() - thread,
        )
        if self.gpu_timer is not None:
            self.gpu_timer.collect_all(render.ctx)

    @teardown
    def cleanup(self, ctx: VkCtx) -> None:
        if self.gpu_timer is not None:  # its figures stay for the report
            self.gpu_timer.cleanup(ctx)
