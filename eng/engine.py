"""Book ch.1/10 (eng.zig): the engine loop - input, fixed-rate updates, render; extras
(eng/hooks.py) join it at the lines marked `# hook`."""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eng.com.common import Constants
from eng.com.interrupts import interrupts_deferred, teardown
from eng.com.live import live_counts
from eng.com.paths import PIPELINE_CACHE
from eng.hooks import Extra, Extras, OwnTarget
from eng.model_data import MaterialData, ModelData
from eng.models_cache import ModelsCache
from eng.render import Render
from eng.run import EngineOptions, RunStats, window_title
from eng.scene import Scene
from eng.vk.ctx import VkCtx
from eng.vk.errors import cleanup_on_error
from eng.wnd import Wnd

log = logging.getLogger("eng")


@dataclass
class InitData:
    models: list[ModelData]
    materials: list[MaterialData]


@dataclass
class EngCtx:
    constants: Constants
    scene: Scene
    wnd: Wnd | None  # None when headless


class GameLogic:
    """What the engine calls on a game (book: main.zig's init, input, update, cleanup), and
    two calls of ours that do nothing unless a game overrides them: `loaded`, once the models
    are on the GPU, and `animate`, every frame, windowed or not."""

    title = "Vulkan Book"

    def init(self, eng_ctx: EngCtx) -> InitData:
        raise NotImplementedError

    def input(self, eng_ctx: EngCtx, delta_sec: float) -> None:
        pass

    def update(self, eng_ctx: EngCtx, delta_sec: float) -> None:
        pass

    def cleanup(self) -> None:
        pass

    def loaded(self, eng_ctx: EngCtx, models_cache: ModelsCache) -> None:
        pass

    def animate(self, eng_ctx: EngCtx, delta_sec: float) -> None:
        pass


class Engine:
    def __init__(self, game: GameLogic, eng_ctx: EngCtx, extras: Extras) -> None:
        self.game = game
        self.eng_ctx = eng_ctx
        self.extras = extras
        self.ctx: VkCtx | None = None
        self.render: Render | None = None

    @classmethod
    def create(
        cls,
        game: GameLogic,
        constants: Constants,
        options: EngineOptions | None = None,
        extras: Sequence[Extra] = (),
        offscreen: OwnTarget | None = None,
    ) -> "Engine":
        """A window, unless `offscreen` stands in for it; `extras` join in the order given."""
        options = options or EngineOptions()
        engine = cls(game, EngCtx(constants, Scene(), None), Extras(extras))
        with cleanup_on_error(engine), interrupts_deferred():  # a Ctrl-C: once all is kept
            if offscreen is None:
                engine.eng_ctx.wnd = Wnd.create(game.title, *options.size, options.fullscreen)
            wanted = engine.extras.device_extensions()  # hook
            engine.ctx = VkCtx.create(
                constants, engine.eng_ctx.wnd, options.validation_features, PIPELINE_CACHE, wanted
            )
            engine.render = Render.create(
                engine.ctx, engine.extras, offscreen, options.dedicated_images, options.anisotropy
            )
            return engine

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc_info: object) -> None:
        """`with Engine.create(...)` cleans up even after a Ctrl-C between create and run."""
        self.cleanup()

    def run(self, frames: int | None = None) -> RunStats:
        """Runs until the window closes or `frames` frames are rendered; cleans up always."""
        # Ctrl-C is held while the engine loads and between the frames' statements, and
        # raised between frames (or at the end): never between a create and its keeping
        with interrupts_deferred() as stop_if_interrupted:
            return self._run(frames, stop_if_interrupted)

    def _run(self, frames: int | None, stop_if_interrupted: Callable[[], None]) -> RunStats:
        try:  # first: a Ctrl-C from here on cleans up (before it, the caller's `with` does)
            ctx, render = self.ctx, self.render
            assert ctx is not None and render is not None, "the engine was cleaned up"
            stats = RunStats()
            validation_log, vma = ctx.instance.validation_log, ctx.vma
            start = time.perf_counter()
            init_data = self.game.init(self.eng_ctx)
            render.init(self.eng_ctx, init_data)
            self.game.loaded(self.eng_ctx, render.models)
            stats.load_s, stats.vma = time.perf_counter() - start, ctx.vma.statistics()
            log.debug("loaded in %.3f s", stats.load_s)
            self.extras.loaded(render)  # hook
            self._loop(stats, frames, stop_if_interrupted)
            stats.draws_per_frame = render.draw_count
            self.extras.finished(render)  # hook
        finally:
            self.cleanup()
        stats.vma_live_at_exit = vma.live_at_destroy
        if validation_log is not None:
            stats.validation_messages = len(validation_log.messages)
        log.info("%d frames in %.2f s, %.1f fps on average", stats.frames, stats.seconds, stats.fps)
        return stats

    def _loop(
        self, stats: RunStats, frames: int | None, stop_if_interrupted: Callable[[], None]
    ) -> None:
        """Book: Engine.run's loop."""
        eng_ctx, wnd, extras = self.eng_ctx, self.eng_ctx.wnd, self.extras
        ctx, render = self.ctx, self.render
        assert ctx is not None and render is not None, "the engine was cleaned up"
        time_u = 1.0 / eng_ctx.constants.ups
        start = last = update_time = time.perf_counter()
        cpu_start = time.process_time()
        delta_update, title_time, title_frames = 0.0, start, 0
        while wnd is None or not wnd.closed:
            stop_if_interrupted()
            last_frame = frames is not None and stats.frames == frames - 1
            last_frame = extras.before_frame(eng_ctx, render, last_frame)  # hook
            now = time.perf_counter()
            delta = now - last
            last = now
            delta_update += delta / time_u
            if wnd is not None:
                wnd.poll_events()
                if wnd.closed:
                    break
                self.game.input(eng_ctx, delta)
            if delta_update >= 1:
                self.game.update(eng_ctx, now - update_time)
                delta_update -= 1
                update_time = now
            self.game.animate(eng_ctx, delta)
            extras.stage("input_update", render.current_frame)  # hook
            if not render.render(eng_ctx):
                if wnd is not None and render.must_resize:
                    time.sleep(0.01)  # minimised: wait for a size instead of spinning
                continue
            stats.frames += 1
            if stats.frames == 1:
                log.debug("first frame submitted")
            extras.after_frame(render, stats.frames)  # hook
            if wnd is not None and now - title_time >= 1.0:
                fps = (stats.frames - title_frames) / (now - title_time)
                vma = ctx.vma.statistics()
                wnd.set_title(window_title(self.game.title, fps, render.draw_count, vma))
                title_time, title_frames = now, stats.frames
            if last_frame:
                break
        ctx.device.wait()
        stats.seconds = time.perf_counter() - start
        stats.cpu_seconds = time.process_time() - cpu_start

    @teardown
    def cleanup(self) -> None:
        """Book: Engine.cleanup - game, render, Vulkan context, window, in that order; a
        Ctrl-C meanwhile waits until all is destroyed (`teardown`). Safe after a failed create."""
        self.game.cleanup()
        render, self.render = self.render, None  # each dropped first: destroyed once
        if render is not None:
            render.cleanup()
        ctx, self.ctx = self.ctx, None
        if ctx is not None:
            ctx.cleanup()
        wnd, self.eng_ctx.wnd = self.eng_ctx.wnd, None
        if wnd is not None:
            wnd.cleanup()
        log.debug("alive after cleanup: %s", live_counts() or "nothing")
