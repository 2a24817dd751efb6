"""`--trace FILE.json` and key T (not in the book): the last frames as a Chrome trace-event
file, which Perfetto (ui.perfetto.dev) and the Performance panel of Chrome's DevTools open.

Tracks: the main thread's stages of each frame (the `stage` hook: input_update, wait, acquire,
uniforms, record or reuse, submit, present), each labelled with its frame-in-flight slot and
swapchain image; the GPU's work of each frame, from two timestamps its commands write (copied
into a host-visible buffer by the commands themselves, so reading them never waits for the
GPU); the start-up (process start, window and Vulkan, loading and uploads, first frame); and
counters: VMA's allocated and block bytes, and the draws of each frame.

The GPU's clock is placed on the CPU's with calibrated timestamps where the device has
VK_KHR_calibrated_timestamps or VK_EXT_calibrated_timestamps (the device's clock and
CLOCK_MONOTONIC, the clock of perf_counter, read together when the file is made). Otherwise
its timestamps are shifted by the smallest offset that starts no frame's GPU work before its
vkQueueSubmit. The trace's metadata says which. Only the last `frames` frames are kept; the
file is written through a temporary name.
"""

import json
import logging
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

import vulkan as vk

from eng.com.common import FRAMES_IN_FLIGHT
from eng.com.interrupts import teardown
from eng.com.safe_io import write_bytes_atomic
from eng.hooks import Extra, Target
from eng.render import Render
from eng.vk.buf import VkBuffer
from eng.vk.ctx import VkCtx
from eng.vk.errors import VulkanError, check, cleanup_on_error, vk_errors
from eng.vk.query import create_query_pool
from eng.vk.vma import VmaFlags

log = logging.getLogger("eng.extras.trace")
PID, CPU_TID, GPU_TID, LOAD_TID = 1, 1, 2, 3
_MONOTONIC = vk.VK_TIME_DOMAIN_CLOCK_MONOTONIC_KHR  # the clock of time.perf_counter on Linux
# VK_STRUCTURE_TYPE_CALIBRATED_TIMESTAMP_INFO_EXT, which the KHR name aliases; the `vulkan`
# package has no EXT name and gives its KHR name another value (1000543000)
_CALIBRATED_TIMESTAMP_INFO = 1000184000
CALIBRATED_TIMESTAMPS = ("VK_KHR_calibrated_timestamps", "VK_EXT_calibrated_timestamps")
ALIGNED_AT_SUBMIT = (
    "submit: GPU timestamps shifted by the smallest offset that starts no frame's GPU work "
    "before its vkQueueSubmit ({why})"
)


@dataclass(frozen=True, slots=True)
class Calibration:
    """One device timestamp (ticks) and the perf_counter() seconds of the same instant."""

    ticks: int
    seconds: float
    deviation_ns: int  # at most this far apart (vkGetCalibratedTimestamps' pMaxDeviation)
    extension: str


class Calibrator:
    """Reads the device's clock and CLOCK_MONOTONIC together (vkGetCalibratedTimestamps*)."""

    def __init__(self, ctx: VkCtx, extension: str) -> None:
        suffix = extension.split("_")[1]  # KHR or EXT: the functions' suffix
        self.extension, self._device = extension, ctx.device.device
        self._read = ctx.device.raw_proc(f"vkGetCalibratedTimestamps{suffix}")
        self._infos = vk.ffi.new("VkCalibratedTimestampInfoKHR[2]")
        for info, domain in zip(
            self._infos, (vk.VK_TIME_DOMAIN_DEVICE_KHR, _MONOTONIC), strict=True
        ):
            info.sType = _CALIBRATED_TIMESTAMP_INFO
            info.timeDomain = domain
        self._stamps = vk.ffi.new("uint64_t[2]")
        self._deviation = vk.ffi.new("uint64_t *")

    @classmethod
    def create(cls, ctx: VkCtx) -> "Calibrator | None":
        """None unless an extension is enabled and it calibrates the device's clock against
        CLOCK_MONOTONIC."""
        enabled = [name for name in CALIBRATED_TIMESTAMPS if name in ctx.device.enabled]
        if not enabled:
            return None
        name = f"vkGetPhysicalDeviceCalibrateableTimeDomains{enabled[0].split('_')[1]}"
        with vk_errors(name):
            have = set(ctx.instance.proc(name)(ctx.phys.pdev))
        if not {vk.VK_TIME_DOMAIN_DEVICE_KHR, _MONOTONIC} <= have:
            return None
        return cls(ctx, enabled[0])

    def read(self) -> Calibration:
        name = f"vkGetCalibratedTimestamps ({self.extension})"
        check(self._read(self._device, 2, self._infos, self._stamps, self._deviation), name)
        # perf_counter() and CLOCK_MONOTONIC run at one rate; on Linux they are one clock
        offset = perf_counter() - time.clock_gettime(time.CLOCK_MONOTONIC)
        seconds = self._stamps[1] / 1e9 + offset
        return Calibration(self._stamps[0], seconds, self._deviation[0], self.extension)


class Unwrapped:
    """A device's timestamps counted on past the point where its counter, of
    timestampValidBits bits, wraps round to 0. Each must be read within half a turn of the one
    read before (34 s for 36 bits at one tick a nanosecond)."""

    def __init__(self, valid_bits: int) -> None:
        self.turn = 1 << valid_bits
        self.last: int | None = None  # the last timestamp read, as the device wrote it
        self.count = 0  # the same, counted on

    def __call__(self, ticks: int) -> int:
        if self.last is None:
            self.count = ticks
        else:
            half = self.turn // 2
            self.count += (ticks - self.last + half) % self.turn - half
        self.last = ticks
        return self.count


@dataclass(slots=True)
class FrameRecord:
    """One submitted frame: perf_counter() at its start and after each stage."""

    number: int
    slot: int
    start: float
    stages: list[tuple[str, float]] = field(default_factory=list)
    image: int = -1
    recorded: bool = False
    draws: int = 0
    allocation_bytes: int = 0
    block_bytes: int = 0
    gpu: tuple[int, int] | None = None  # begin and end timestamps, in ticks
    fence_done: float | None = None  # when the wait for its fence had returned

    @property
    def submit_start(self) -> float:
        """When vkQueueSubmit was called (the end of the stage before submit)."""
        names = [name for name, _ in self.stages]
        i = names.index("submit")
        return self.stages[i - 1][1] if i else self.start


class Tracer(Extra):
    """Keeps the last `frames` frames; `write(path)` makes the trace file of them. `origin`
    is the perf_counter() value of the process's start (start-up spans begin there)."""

    def __init__(self, path: Path | None, frames: int = 300, origin: float | None = None) -> None:
        self.path = path
        self.frames: deque[FrameRecord] = deque(maxlen=frames)
        self.made = perf_counter()
        self.origin = self.made if origin is None else origin
        self.marks: list[tuple[str, float]] = [("python start-up, imports, options", self.made)]
        self.written = False
        self._ctx: VkCtx | None = None
        self._pool: Any = None
        self._results: VkBuffer | None = None
        self._period_ns = 1.0
        self._calibrator: Calibrator | None = None
        self._unwrap = Unwrapped(64)
        self._in_flight: list[FrameRecord | None] = [None] * FRAMES_IN_FLIGHT
        self._current: FrameRecord | None = None
        self._count = 0

    # --- Vulkan objects
    def device_extensions(self) -> tuple[str, ...]:
        return CALIBRATED_TIMESTAMPS

    def create(self, ctx: VkCtx) -> None:
        self._ctx = ctx
        self._period_ns = ctx.phys.limits.timestampPeriod
        with cleanup_on_error(self, ctx):
            self._calibrator = Calibrator.create(ctx)
            families = vk.vkGetPhysicalDeviceQueueFamilyProperties(ctx.phys.pdev)
            self._unwrap = Unwrapped(
                families[ctx.phys.queues_info.graphics_family].timestampValidBits
            )
            count = 2 * FRAMES_IN_FLIGHT
            self._pool = create_query_pool(ctx, vk.VK_QUERY_TYPE_TIMESTAMP, count, "trace")
            self._results = VkBuffer.create(
                ctx,
                16 * FRAMES_IN_FLIGHT,
                vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                VmaFlags.HOST_ACCESS_RANDOM | VmaFlags.MAPPED,
                name="trace timestamps",
            )
        self.marks.append(("window, Vulkan instance and device", perf_counter()))

    @teardown
    def cleanup(self, ctx: VkCtx) -> None:
        """After a Ctrl-C (no `finished`): the frames so far are written here, whole or not."""
        if not self.written and self.path is not None and self._results is not None:
            self._collect_all()
            self.save(self.path)
        pool, self._pool = self._pool, None
        if pool is not None:
            vk.vkDestroyQueryPool(ctx.device.device, pool, None)
        results, self._results = self._results, None
        if results is not None:
            results.cleanup(ctx)

    # --- the frames
    def loading(self, step: str) -> None:
        self.marks.append((step, perf_counter()))

    def loaded(self, render: Render) -> None:
        self.marks.append(("staging freed, scene descriptors written", perf_counter()))

    def before_frame(self, eng_ctx: Any, render: Render, last: bool) -> None:
        self._current = FrameRecord(self._count, render.current_frame, perf_counter())

    def stage(self, name: str, frame: int) -> None:
        now = perf_counter()
        rec = self._current
        if rec is None:
            return
        if name == "record" and not rec.recorded:
            name = "reuse"
        rec.stages.append((name, now))
        if name == "wait":
            self._collect(frame, now)
        elif name == "acquire":  # the index vkAcquireNextImageKHR wrote (headless: the slot)
            swap = self._ctx.swap_chain if self._ctx is not None else None  # new on a resize
            rec.image = swap.image_index if swap is not None else frame

    def begin_commands(self, cmd: Any, frame: int) -> None:
        if self._current is not None:
            self._current.recorded = True
        vk.lib.vkCmdResetQueryPool(cmd, self._pool, 2 * frame, 2)
        vk.lib.vkCmdWriteTimestamp2(
            cmd, vk.VK_PIPELINE_STAGE_2_TOP_OF_PIPE_BIT, self._pool, 2 * frame
        )

    def end_commands(self, cmd: Any, frame: int, image: Any, target: Target) -> None:
        assert self._results is not None, "made by create"
        pool = self._pool
        vk.lib.vkCmdWriteTimestamp2(
            cmd, vk.VK_PIPELINE_STAGE_2_BOTTOM_OF_PIPE_BIT, pool, 2 * frame + 1
        )
        flags = vk.VK_QUERY_RESULT_64_BIT | vk.VK_QUERY_RESULT_WAIT_BIT
        buffer = self._results.buffer
        vk.vkCmdCopyQueryPoolResults(cmd, pool, 2 * frame, 2, buffer, 16 * frame, 8, flags)
        barrier = vk.VkMemoryBarrier(
            srcAccessMask=vk.VK_ACCESS_TRANSFER_WRITE_BIT, dstAccessMask=vk.VK_ACCESS_HOST_READ_BIT
        )
        vk.vkCmdPipelineBarrier(
            cmd, vk.VK_PIPELINE_STAGE_TRANSFER_BIT, vk.VK_PIPELINE_STAGE_HOST_BIT, 0,
            1, [barrier], 0, None, 0, None,
        )  # fmt: skip

    def after_frame(self, render: Render, rendered: int) -> None:
        rec = self._current
        if rec is None:
            return
        self._current = None
        self._count += 1
        rec.draws = render.draw_count
        stats = render.ctx.vma.statistics()
        rec.allocation_bytes, rec.block_bytes = stats.allocation_bytes, stats.block_bytes
        self._in_flight[rec.slot] = rec
        self.frames.append(rec)
        if rendered == 1:
            self.marks.append(("first frame recorded and submitted", perf_counter()))

    def _collect(self, slot: int, now: float) -> None:
        """The slot's fence has signalled: its last frame's timestamps are in the buffer."""
        rec = self._in_flight[slot]
        if rec is None or self._results is None or self._ctx is None:
            return
        self._in_flight[slot] = None
        begin, end = struct.unpack_from("<QQ", self._results.read(self._ctx), 16 * slot)
        if begin and end:  # both written
            rec.gpu = (self._unwrap(begin), self._unwrap(end))
        rec.fence_done = now

    def _collect_all(self) -> None:
        now = perf_counter()
        for slot in range(FRAMES_IN_FLIGHT):
            self._collect(slot, now)

    def finished(self, render: Render) -> None:
        """The device is idle: every frame's timestamps are in; the file is written now."""
        self._collect_all()
        if self.path is not None:
            self.save(self.path)

    # --- the file
    def save(self, path: Path) -> None:
        """The trace of the frames kept, through a temporary name; failures are logged."""
        try:
            write_bytes_atomic(path, json.dumps(self.trace()).encode())
        except OSError as exc:
            log.error("%s: cannot write the trace (%s)", path, exc.strerror or exc)
            return
        self.written = path == self.path or self.written
        print(f"trace: {path.absolute()}", flush=True)

    def _us(self, t: float) -> float:
        """Microseconds since the origin in steps of 1/1024 (about a nanosecond): such numbers
        add up exactly, so a span ends exactly where the next one on its track begins (a viewer
        would nest two spans that overlap by a rounding error)."""
        return round((t - self.origin) * 1e6 * 1024) / 1024

    def trace(self) -> dict:
        """The Chrome trace-event JSON object of the frames kept."""
        events: list[dict] = [
            {"ph": "M", "pid": PID, "name": "process_name", "args": {"name": "zvk"}},
        ]
        for tid, name in ((CPU_TID, "main thread"), (GPU_TID, "GPU"), (LOAD_TID, "start-up")):
            events.append(
                {"ph": "M", "pid": PID, "tid": tid, "name": "thread_name", "args": {"name": name}}
            )
        previous = self.origin
        for name, t in self.marks:
            events.append(self._span(name, previous, t, LOAD_TID, {}))
            previous = t
        frames = list(self.frames)
        gpu_seconds, alignment = self._gpu_clock(frames)
        for rec in frames:
            args = {"frame": rec.number, "slot": rec.slot, "image": rec.image}
            start = rec.start
            for name, t in rec.stages:
                events.append(self._span(name, start, t, CPU_TID, args))
                start = t
            if rec.gpu is not None and gpu_seconds is not None:
                begin, end = (gpu_seconds(ticks) for ticks in rec.gpu)
                events.append(self._span(f"frame {rec.number}", begin, end, GPU_TID, args))
            ts = self._us(rec.stages[-1][1] if rec.stages else start)
            for name, values in (
                ("VMA bytes", {"allocated": rec.allocation_bytes, "blocks": rec.block_bytes}),
                ("draws", {"draws": rec.draws}),
            ):
                events.append(
                    {"ph": "C", "name": name, "ts": ts, "pid": PID, "tid": CPU_TID, "args": values}
                )
        metadata = {
            "clock": "perf_counter, microseconds since the process started",
            "gpu_clock_alignment": alignment,
            "frames_kept": len(frames),
            "frames_in_flight": FRAMES_IN_FLIGHT,
            "timestamp_period_ns": self._period_ns,
        }
        return {"traceEvents": events, "displayTimeUnit": "ms", "metadata": metadata}

    def _span(self, name: str, start: float, end: float, tid: int, args: dict) -> dict:
        ts = self._us(start)
        return {
            "ph": "X", "name": name, "ts": ts, "dur": max(0.0, self._us(end) - ts),
            "pid": PID, "tid": tid, "args": args,
        }  # fmt: skip

    def _gpu_clock(self, frames: list[FrameRecord]) -> tuple[Callable[[int], float] | None, str]:
        """How GPU ticks become perf_counter() seconds, and the metadata's words for it."""
        period = self._period_ns / 1e9
        why = "the device has no calibrated timestamps"
        if self._calibrator is not None:
            try:
                c = self._calibrator.read()
            except VulkanError as exc:
                log.warning("%s; the trace aligns the GPU's clock at submit", exc)
                why = f"{self._calibrator.extension} failed"
            else:
                words = (
                    f"calibrated: {c.extension}, the device's clock and CLOCK_MONOTONIC read "
                    f"together as the file was made, at most {c.deviation_ns} ns apart"
                )
                at = self._unwrap(c.ticks)
                return (lambda ticks: c.seconds + (ticks - at) * period), words
        aligned = ALIGNED_AT_SUBMIT.format(why=why)
        lateness = [rec.submit_start - rec.gpu[0] * period for rec in frames if rec.gpu is not None]
        if not lateness:
            return None, aligned
        offset = max(lateness)
        return (lambda ticks: ticks * period + offset), aligned
