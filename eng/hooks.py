"""Where extras join the book's engine (not in the book; docs/beyond-the-book.md lists them).

The book's modules never import eng/extras. Engine, Render and RenderScn take a list of
`Extra` objects and call them at fixed places, one line each, marked `# hook`; every method
below does nothing, and an extra overrides what it needs. With no extras the book's code runs
as the book's does. An `OwnTarget` stands in for the swapchain when there is no window.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from eng.com.interrupts import teardown

if TYPE_CHECKING:  # for annotations only: the book's modules import this one
    from eng.engine import EngCtx
    from eng.models_cache import MaterialsCache, ModelsCache
    from eng.render import Render
    from eng.render_scn import RenderScn
    from eng.scene import Scene
    from eng.vk.ctx import VkCtx
    from eng.vk.desc import VkDescSetLayout
    from eng.vk.imv import VkImageView
    from eng.vk.swap import Extent


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    """A pipeline an extra draws with; RenderScn builds it with its own, and rebuilds it with
    them when the shaders change (`RenderScn.pipelines[name]`)."""

    name: str
    shaders: tuple[tuple[str, int], ...]  # (shader name in RenderScn.shaders, stage)
    extra_layouts: "tuple[VkDescSetLayout, ...]" = ()  # sets after the scene's 0-2
    blend: bool = False
    color_write: bool = True
    cull_back: bool = False


@dataclass(slots=True)
class PassFrame:
    """What RenderScn.prepare hands its extras for one frame."""

    ctx: "VkCtx"
    scene: "Scene"
    models: "ModelsCache"
    materials: "MaterialsCache"
    frame: int  # the frame-in-flight slot
    items_changed: bool  # the draw list was rebuilt or an entity moved


class Extra:
    """One thing beyond the book. Each method says who calls it and when."""

    # --- Engine.create, Render.init: start-up
    def device_extensions(self) -> tuple[str, ...]:
        """Before the device exists: the device extensions it uses where the device has them
        (VkDevice.enabled says which were enabled)."""
        return ()

    def loading(self, step: str) -> None:
        """During Render.init, after each step of the start-up (`step` says what was done)."""

    # --- Render.create / Render.cleanup
    def create(self, ctx: "VkCtx") -> None:
        """Before the scene pass exists: make Vulkan objects of its own."""

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        """After the scene pass is destroyed, the device idle."""

    # --- RenderScn: the scene pass
    def shader_files(self) -> dict[str, Path]:
        """SPIR-V files by shader name, over the book's (a later extra's win)."""
        return {}

    def shader_sources(self) -> dict[Path, str]:
        """For SPIR-V files it made (compiled GLSL, checked copies): the file a message about
        one names instead, the one the user knows."""
        return {}

    def pipeline_specs(self) -> list[PipelineSpec]:
        return []

    def prepare(self, scn: "RenderScn", pass_frame: PassFrame) -> bool:
        """Before a frame is recorded or reused: True when what it records changed."""
        return False

    def before_pass(self, cmd: Any, frame: int) -> None:
        """Recording, before the scene's rendering begins."""

    def before_draws(self, cmd: Any, scn: "RenderScn", frame: int) -> None:
        """Inside the rendering, sets 0-2 bound, before the book's opaque pipeline is bound."""

    def after_draws(self, cmd: Any, scn: "RenderScn", frame: int, transparent: bool) -> None:
        """After the book's opaque draws (`transparent` False), then after its blended ones."""

    def drawn(self, cmd: Any, triangles: int) -> None:
        """After each draw of the book's loop (RenderScn.record_items)."""

    def draw_count(self) -> int:
        """Draw calls of its own in a frame."""
        return 0

    # --- Render.render: one frame
    def frame_start(self, frame: int) -> bool:
        """Before the frame: True to record it afresh instead of reusing a recording."""
        return False

    def stage(self, name: str, frame: int) -> None:
        """After each stage of a frame: input_update (Engine), then wait, acquire, uniforms,
        record, submit, present (Render)."""

    def begin_commands(self, cmd: Any, frame: int) -> None:
        """First in a frame's command buffer."""

    def end_commands(self, cmd: Any, frame: int, image: Any, target: "Target") -> None:
        """After the scene pass, the colour `image` still a colour attachment."""

    # --- Engine: the loop
    def loaded(self, render: "Render") -> None:
        """The scene is on the GPU."""

    def ends_run(self) -> bool:
        """Each loop turn, first: True makes this frame the run's last."""
        return False

    def before_frame(self, eng_ctx: "EngCtx", render: "Render", last: bool) -> None:
        """Each loop turn, before input; `last`: the run ends with this frame."""

    def after_frame(self, render: "Render", rendered: int) -> None:
        """After a frame was submitted; `rendered` frames so far."""

    def finished(self, render: "Render") -> None:
        """The loop is over and the device idle; nothing is destroyed yet."""


class Target(Protocol):
    """Colour images the scene is drawn into: the swapchain's, or an `OwnTarget`'s."""

    images: list[Any]
    image_views: "list[VkImageView]"
    extent: "Extent"
    format: int


class OwnTarget(Target, Protocol):
    """Images that stand in for the swapchain without a window (Render makes and destroys them)."""

    def create(self, ctx: "VkCtx", image_flags: int) -> None: ...

    def cleanup(self, ctx: "VkCtx") -> None: ...


class Extras(list[Extra]):
    """Calls each extra in order (a plain loop: with none, each call costs next to nothing)."""

    def device_extensions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for extra in self for name in extra.device_extensions()))

    def loading(self, step: str) -> None:
        for extra in self:
            extra.loading(step)

    def create(self, ctx: "VkCtx") -> None:
        for extra in self:
            extra.create(ctx)

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        for extra in reversed(self):
            extra.cleanup(ctx)

    def shader_files(self) -> dict[str, Path]:
        return {name: path for extra in self for name, path in extra.shader_files().items()}

    def shader_sources(self) -> dict[Path, str]:
        return {path: name for extra in self for path, name in extra.shader_sources().items()}

    def pipeline_specs(self) -> list[PipelineSpec]:
        return [spec for extra in self for spec in extra.pipeline_specs()]

    def prepare(self, scn: "RenderScn", pass_frame: PassFrame) -> bool:
        return any([extra.prepare(scn, pass_frame) for extra in self])  # every one runs

    def before_pass(self, cmd: Any, frame: int) -> None:
        for extra in self:
            extra.before_pass(cmd, frame)

    def before_draws(self, cmd: Any, scn: "RenderScn", frame: int) -> None:
        for extra in self:
            extra.before_draws(cmd, scn, frame)

    def after_draws(self, cmd: Any, scn: "RenderScn", frame: int, transparent: bool) -> None:
        for extra in self:
            extra.after_draws(cmd, scn, frame, transparent)

    def drawn(self, cmd: Any, triangles: int) -> None:
        for extra in self:
            extra.drawn(cmd, triangles)

    def draw_count(self) -> int:
        return sum(extra.draw_count() for extra in self)

    def frame_start(self, frame: int) -> bool:
        return any([extra.frame_start(frame) for extra in self])

    def stage(self, name: str, frame: int) -> None:
        for extra in self:
            extra.stage(name, frame)

    def begin_commands(self, cmd: Any, frame: int) -> None:
        for extra in self:
            extra.begin_commands(cmd, frame)

    def end_commands(self, cmd: Any, frame: int, image: Any, target: Target) -> None:
        for extra in self:
            extra.end_commands(cmd, frame, image, target)

    def loaded(self, render: "Render") -> None:
        for extra in self:
            extra.loaded(render)

    def before_frame(self, eng_ctx: "EngCtx", render: "Render", last: bool) -> bool:
        """Returns `last`, made True where an extra ends the run (`ends_run`)."""
        last = any([extra.ends_run() for extra in self]) or last
        for extra in self:
            extra.before_frame(eng_ctx, render, last)
        return last

    def after_frame(self, render: "Render", rendered: int) -> None:
        for extra in self:
            extra.after_frame(render, rendered)

    def finished(self, render: "Render") -> None:
        for extra in self:
            extra.finished(render)
