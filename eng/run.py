"""How the engine is made and what a run measured (not in the book): the command line's
choices, the figures of a run, and what the window's title shows of them."""

from dataclasses import dataclass

from eng.vk.vma import VmaStats


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """How the engine is made (the command line's choices; cfg.toml's are in Constants)."""

    size: tuple[int, int] = (1280, 720)  # the window's, or the offscreen target's
    validation_features: tuple[str, ...] = ()
    dedicated_images: bool = False  # the book's one VkDeviceMemory per image
    anisotropy: bool = True
    fullscreen: bool = False  # the window at the display's size


@dataclass
class RunStats:
    """What a run measured."""

    frames: int = 0
    seconds: float = 0.0  # the frame loop, wall clock
    cpu_seconds: float = 0.0  # process CPU time (all threads) over the frame loop
    load_s: float = 0.0
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
