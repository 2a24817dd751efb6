"""The window's M and F12 keys (not in the book): VMA's report and map, and a screenshot,
written time-stamped into a folder. The extras that do the work (eng/extras/snapshots.py,
eng/extras/capture.py) are imported at the first press, so a run without one loads none."""

from pathlib import Path
from typing import TYPE_CHECKING, Any

from eng.engine import EngCtx
from eng.hooks import Extra, Target
from eng.render import Render
from eng.vk.ctx import VkCtx

if TYPE_CHECKING:  # for annotations only: imported at the first F12
    from eng.extras.capture import FrameCapture


class Keys(Extra):
    def __init__(self, folder: Path = Path(".")) -> None:
        self.folder = folder
        self._capture: FrameCapture | None = None

    def before_frame(self, eng_ctx: EngCtx, render: Render, last: bool) -> None:
        wnd = eng_ctx.wnd
        if wnd is None:
            return
        if wnd.was_pressed("M"):
            from eng.extras.snapshots import key_vma

            key_vma(render.ctx.vma, self.folder)
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
