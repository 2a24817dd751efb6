"""The window's M, T and F12 keys (not in the book): VMA's report and map, the trace of the
last frames (with --trace) and a screenshot, written time-stamped into a folder. The extras
that do the work (eng/extras/snapshots.py, eng/extras/capture.py) are imported at the first
press, so a run without one loads none."""

from pathlib import Path
from typing import TYPE_CHECKING, Any

from eng.engine import EngCtx
from eng.hooks import Extra, Target
from eng.render import Render
from eng.vk.ctx import VkCtx

if TYPE_CHECKING:  # for annotations only: imported at the first F12
    from eng.extras.capture import FrameCapture
    from eng.extras.trace import Tracer


class Keys(Extra):
    def __init__(self, folder: Path = Path("."), tracer: "Tracer | None" = None) -> None:
        self.folder = folder
        self.tracer = tracer  # --trace's: key T writes its frames
        self._capture: FrameCapture | None = None

    def before_frame(self, eng_ctx: EngCtx, render: Render, last: bool) -> None:
        wnd = eng_ctx.wnd
        if wnd is None:
            return
        if wnd.was_pressed("M"):
            from eng.extras.snapshots import key_vma

            key_vma(render.ctx.vma, self.folder)
        if wnd.was_pressed("T"):
            if self.tracer is None:
                print("key T: run with --trace FILE.json to keep the frames", flush=True)
            else:
                from eng.extras.snapshots import stamped_name

                self.tracer.save(stamped_name("zvk-trace", ".json", self.folder))
        if wnd.was_pressed("F12"):
            if self._capture is None:
                from eng.extras.capture import FrameCapture

                self._capture = FrameCapture()
                self._capture.create(render.ctx)
            self._capture.arm()

    def frame_start(self, frame: int) -> bool:
        return self._capture is not None and self._capture.frame_start(frame)

    def end_commands(self, cmd: Any, frame: int, image: Any, target: Target) -> None:
        if self._capture is not None:
            self._capture.end_commands(cmd, frame, image, target)

    def after_frame(self, render: Render, rendered: int) -> None:
        pixels = self._capture.take() if self._capture is not None else None
        if pixels is not None:
            from eng.extras.snapshots import key_screenshot

            key_screenshot(pixels, self.folder)

    def cleanup(self, ctx: VkCtx) -> None:
        if self._capture is not None:
            self._capture.cleanup(ctx)
