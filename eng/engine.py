"""Book ch.1/10 (eng.zig): the engine loop - input, fixed-rate updates, render.

A game object provides `init(eng_ctx) -> InitData`, `input(eng_ctx, delta_sec)`,
`update(eng_ctx, delta_sec)` and `cleanup()`, as in the book's main.zig, and optionally
`loaded(eng_ctx, models_cache)`, called once the models are on the GPU, and (not in the book)
`animate(eng_ctx, delta_sec)`, called every frame, windowed or not: the scale scenes move
their entities there.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import vulkan as vk

from eng.com.common import CACHE_DIR, Constants
from eng.com.utils import interrupts_deferred
from eng.extras.shader_watch import ShaderSet
from eng.extras.snapshots import Snapshots
from eng.model_data import MaterialData, ModelData
from eng.render import Render
from eng.scene import Scene
from eng.vk.ctx import VkCtx
from eng.vk.errors import VulkanError, cleanup_on_error
from eng.vk.vma import VmaStats
from eng.wnd import Wnd

log = logging.getLogger("eng")

PIPELINE_CACHE = CACHE_DIR / "pipeline-cache.bin"


@dataclass
class InitData:
    models: list[ModelData]
    materials: list[MaterialData]


@dataclass
class EngCtx:
    constants: Constants
    scene: Scene
    wnd: Wnd | None  # None when headless


class Game(Protocol):
    """What the engine calls on a game (see the module's docstring; `loaded` is optional)."""

    title: str

    def init(self, eng_ctx: EngCtx) -> InitData: ...

    def input(self, eng_ctx: EngCtx, delta_sec: float) -> None: ...

    def update(self, eng_ctx: EngCtx, delta_sec: float) -> None: ...

    def cleanup(self) -> None: ...


@dataclass
class RunStats:
    """What a run measured; the stage and GPU figures are filled only when profiling."""

    frames: int = 0
    seconds: float = 0.0  # the frame loop, wall clock
    cpu_seconds: float = 0.0  # process CPU time (all threads) over the frame loop
    load_s: float = 0.0
    first_frame_done: float = 0.0  # perf_counter() when the first frame finished on the GPU
    stages: dict[str, list[float]] = field(default_factory=dict)  # wall-clock seconds
    thread_stages: dict[str, list[float]] = field(default_factory=dict)  # main thread's CPU
    gpu_frame_ms: list[float] = field(default_factory=list)
    fragments: list[int] = field(default_factory=list)  # fragment shader invocations a frame
    draws_per_frame: int = 0
    vma: VmaStats | None = None  # after loading
    vma_live_at_exit: int | None = None  # allocations alive when the allocator was destroyed
    validation_messages: int = 0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def window_title(title: str, fps: float, draws: int, vma: VmaStats) -> str:
    """The title bar: frame rate and time, draw calls, and VMA's memory objects."""
    ms = 1000 / fps if fps > 0 else 0.0
    return (
        f"{title} - {fps:.1f} fps, {ms:.1f} ms, {draws} draws, "
        f"VMA {vma.blocks} blocks / {vma.allocations} allocations"
    )


class Engine:
    def __init__(
        self, game: Game, eng_ctx: EngCtx, shaders: ShaderSet, snapshots: Snapshots
    ) -> None:
        self.game = game
        self.eng_ctx = eng_ctx
        self.ctx: VkCtx | None = None
        self.render: Render | None = None
        self.shaders = shaders
        self.snapshots = snapshots

    @classmethod
    def create(
        cls,
        game: Game,
        constants: Constants,
        title: str,
        size: tuple[int, int],
        headless: bool = False,
        validation_features: tuple[str, ...] = (),
        profile: bool = False,
        dedicated_images: bool = False,
        culling: bool = True,
        anisotropy: bool = True,
        depth_prepass: bool = False,
        shaders: ShaderSet | None = None,
        snapshots: Snapshots | None = None,
    ) -> "Engine":
        """`shaders` default to the committed SPIR-V; `snapshots` say what to write once the
        scene is loaded (and where the M and F12 keys write)."""
        shaders = shaders or ShaderSet.create()
        engine = cls(game, EngCtx(constants, Scene(), None), shaders, snapshots or Snapshots())
        with cleanup_on_error(engine), interrupts_deferred():  # a Ctrl-C: once all is kept
            if not headless:
                engine.eng_ctx.wnd = Wnd.create(title, *size)
            engine.ctx = VkCtx.create(
                constants, engine.eng_ctx.wnd, validation_features, PIPELINE_CACHE
            )
            engine.render = Render.create(
                engine.ctx,
                size if headless else None,
                profile,
                dedicated_images,
                anisotropy,
                shaders.stages,
                depth_prepass,
            )
            engine.render.cull = culling
            return engine

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc_info: object) -> None:
        """`with Engine.create(...) as engine:` cleans up even if a Ctrl-C comes between
        create and run, before run's own cleanup can take over."""
        self.cleanup()

    def run(
        self, frames: int | None = None, capture: bool = False
    ) -> tuple[RunStats, np.ndarray | None]:
        """Runs until the window closes or `frames` frames are rendered; cleans up always.

        With `capture`, the last frame is read back and returned as an RGBA array.
        """
        # Ctrl-C is held while the engine loads and between the frames' statements, and
        # raised between frames (or at the end): never between a create and its keeping
        with interrupts_deferred() as stop_if_interrupted:
            return self._run(frames, capture, stop_if_interrupted)

    def _run(
        self, frames: int | None, capture: bool, stop_if_interrupted: Callable[[], None]
    ) -> tuple[RunStats, np.ndarray | None]:
        try:  # first: a Ctrl-C from here on cleans up (before it, the caller's `with` does)
            ctx, render = self._live()
            stats = RunStats()
            validation_log = ctx.instance.validation_log
            vma = ctx.vma
            start = time.perf_counter()
            init_data = self.game.init(self.eng_ctx)
            render.init(self.eng_ctx, init_data)
            if hasattr(self.game, "loaded"):
                self.game.loaded(self.eng_ctx, render.models)
            stats.load_s = time.perf_counter() - start
            log.debug("loaded in %.3f s", stats.load_s)
            stats.vma = ctx.vma.statistics()
            self.snapshots.loaded(ctx.vma)
            image = self._loop(stats, frames, capture, stop_if_interrupted)
            self._collect(stats)
        finally:
            self.cleanup()
        stats.vma_live_at_exit = vma.live_at_destroy
        if validation_log is not None:
            stats.validation_messages = len(validation_log.messages)
        log.info("%d frames in %.2f s, %.1f fps on average", stats.frames, stats.seconds, stats.fps)
        return stats, image

    def _loop(
        self,
        stats: RunStats,
        frames: int | None,
        capture: bool,
        stop_if_interrupted: Callable[[], None],
    ) -> np.ndarray | None:
        eng_ctx, wnd = self.eng_ctx, self.eng_ctx.wnd
        ctx, render = self._live()
        time_u = 1.0 / eng_ctx.constants.ups
        start = last = update_time = time.perf_counter()
        cpu_start = time.process_time()
        delta_update = 0.0
        title_time, title_frames = start, 0
        grab = False  # F12 was pressed: capture the next frame rendered
        grabbed = None  # the pixels F12 read
        timings = render.timings
        animate = getattr(self.game, "animate", None)
        while wnd is None or not wnd.closed:
            stop_if_interrupted()
            now = time.perf_counter()
            if timings is not None:
                timings.begin()
            delta = now - last
            last = now
            delta_update += delta / time_u
            if wnd is not None:
                wnd.poll_events()
                if wnd.closed:
                    break
                self.game.input(eng_ctx, delta)
                if wnd.was_pressed("M"):
                    self.snapshots.key_vma(ctx.vma)
                grab = grab or wnd.was_pressed("F12")
            if self.shaders.poll():
                self._reload_shaders()
            if delta_update >= 1:
                self.game.update(eng_ctx, now - update_time)
                delta_update -= 1
                update_time = now
            if animate is not None:
                animate(eng_ctx, delta)
            if timings is not None:
                timings.lap("input_update")
            last_frame = frames is not None and stats.frames == frames - 1
            # a window can close at any frame: then every frame is copied, the last one shown
            # is the screenshot
            shot = capture and (last_frame or wnd is not None)
            if not render.render(eng_ctx, capture=shot or grab):
                if wnd is not None and render.must_resize:
                    time.sleep(0.01)  # minimised: wait for a size instead of spinning
                continue
            if grab:
                grabbed = render.read_capture()
                self.snapshots.key_screenshot(grabbed)
            grab = False
            stats.frames += 1
            if stats.frames == 1:
                log.debug("first frame submitted")
            if stats.frames == 1 and render.timings is not None:
                ctx.device.wait()  # profiling: when did the first frame finish?
                stats.first_frame_done = time.perf_counter()
            if wnd is not None and now - title_time >= 1.0:
                fps = (stats.frames - title_frames) / (now - title_time)
                assert render.scn is not None, "made by Render.create"
                draws = render.scn.draw_count
                wnd.set_title(window_title(self.game.title, fps, draws, ctx.vma.statistics()))
                title_time, title_frames = now, stats.frames
            if last_frame:
                break
        ctx.device.wait()
        stats.seconds = time.perf_counter() - start
        stats.cpu_seconds = time.process_time() - cpu_start
        if capture and render.has_capture:
            return render.read_capture()
        return grabbed if capture else None  # F12 read the last frame shown

    def _reload_shaders(self) -> None:
        """--watch-shaders: new pipelines between frames; the old ones stay on a failure."""
        _, render = self._live()
        try:
            render.reload_shaders(self.shaders.stages)
        except (VulkanError, vk.VkError, vk.VkException) as exc:
            log.error("the new shaders make no pipeline (%s); keeping the last good ones", exc)

    def _collect(self, stats: RunStats) -> None:
        ctx, render = self._live()
        assert render.scn is not None, "made by Render.create"
        stats.draws_per_frame = render.scn.draw_count
        if render.timings is not None:
            stats.stages = render.timings.stages
            stats.thread_stages = render.timings.thread_stages
        if render.gpu_timer is not None:
            render.gpu_timer.collect_all(ctx)
            stats.gpu_frame_ms = render.gpu_timer.frame_ms
            stats.fragments = render.gpu_timer.fragments

    def _live(self) -> tuple[VkCtx, Render]:
        """The context and the renderer, which exist until cleanup."""
        assert self.ctx is not None and self.render is not None, "the engine was cleaned up"
        return self.ctx, self.render

    def cleanup(self) -> None:
        """Book: Engine.cleanup - game, render, Vulkan context, window, in that order; a
        Ctrl-C meanwhile waits until all is destroyed. Safe after a failed create."""
        with interrupts_deferred():
            self.game.cleanup()
            render, self.render = self.render, None  # each dropped first: destroyed once
            if render is not None:
                render.cleanup()
            ctx, self.ctx = self.ctx, None
            if ctx is not None:
                ctx.cleanup()
            self.shaders.cleanup()
            wnd, self.eng_ctx.wnd = self.eng_ctx.wnd, None
            if wnd is not None:
                wnd.cleanup()
