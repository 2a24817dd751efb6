"""Book ch.10 (render.zig): frames in flight, acquire / record / submit / present, resize.

A frame reuses the command buffer recorded for its frame slot and target image while
RenderScn's `version` is unchanged. Extras join each frame through the hooks of eng/hooks.py
(each call marked `# hook`); without a window an extra's `OwnTarget` replaces the swapchain.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import vulkan as vk

from eng.com.common import FRAMES_IN_FLIGHT
from eng.com.interrupts import interrupts_deferred, teardown
from eng.hooks import Extras, OwnTarget, Target
from eng.models_cache import MaterialsCache, ModelsCache
from eng.render_scn import RenderScn
from eng.scene import Scene
from eng.texture_cache import TextureCache, device_texture_limit
from eng.vk.buf import VkBuffer
from eng.vk.cmd import VkCmdBuff, VkCmdPool
from eng.vk.ctx import VkCtx
from eng.vk.errors import DeviceLostError, cleanup_on_error
from eng.vk.queue import VkQueue
from eng.vk.record import ImageBarrier
from eng.vk.swap import VkSwapChain
from eng.vk.sync import VkFence, VkSemaphore
from eng.vk.texture import VkTextSamplerInfo
from eng.vk.util import vk_int
from eng.vk.vma import VmaFlags

if TYPE_CHECKING:  # for annotations only: engine.py imports this module
    from eng.engine import EngCtx, InitData

log = logging.getLogger("eng.render")

_COLOR_OUT = vk.VK_PIPELINE_STAGE_2_COLOR_ATTACHMENT_OUTPUT_BIT
_COLOR_WRITE = vk.VK_ACCESS_2_COLOR_ATTACHMENT_WRITE_BIT
_COLOR_OPT = vk.VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL


@dataclass(slots=True)
class Recording:
    """A command buffer kept for one frame slot and target image, in a pool of its own."""

    pool: VkCmdPool
    cmd_buff: VkCmdBuff | None = None  # None only until VkCmdBuff.create returns
    version: int | None = None  # RenderScn.version it was recorded at (None: record again)


class Render:
    def __init__(
        self, ctx: VkCtx, extras: Extras, offscreen: OwnTarget | None, image_flags: int
    ) -> None:
        self.ctx = ctx
        self.extras = extras
        self.offscreen = offscreen  # stands in for the swapchain without a window
        self.current_frame = 0
        self.must_resize = False
        self.textures = TextureCache(
            device_texture_limit(ctx.phys), image_flags, ctx.phys.max_texture_size
        )
        self.materials = MaterialsCache()
        self.models = ModelsCache()
        self.scn: RenderScn | None = None
        self.queue_graphics: VkQueue | None = None
        self.queue_present: VkQueue | None = None
        self.fences: list[VkFence] = []
        self.sems_render_complete: list[VkSemaphore] = []
        self.sems_pres_complete: list[VkSemaphore] = []
        self.recordings: dict[tuple[int, int], Recording] = {}  # by (frame slot, target image)
        self._submits: dict[tuple[int, int, int], tuple[Any, tuple[Any, ...]]] = {}
        self._color_init: list[ImageBarrier] = []  # per target image, from _build_color_barriers
        self._color_finish: list[ImageBarrier] = []

    @property
    def target(self) -> Target | VkSwapChain:
        target = self.offscreen if self.offscreen is not None else self.ctx.swap_chain
        assert target is not None, "a window's Render has a swapchain"
        return target

    @classmethod
    def create(
        cls,
        ctx: VkCtx,
        extras: Extras,
        offscreen: OwnTarget | None = None,
        dedicated_images: bool = False,
        anisotropy: bool = True,
    ) -> "Render":
        """`offscreen` replaces the swapchain (made here, destroyed by cleanup). The book gives
        every image its own VkDeviceMemory; by default we let VMA place textures and
        attachments in its blocks (`dedicated_images` restores the book's way)."""
        image_flags = VmaFlags.DEDICATED_MEMORY if dedicated_images else VmaFlags.NONE
        with cleanup_on_error(cls(ctx, extras, offscreen, image_flags)) as r:
            if offscreen is not None:
                offscreen.create(ctx, image_flags)
            queues = ctx.phys.queues_info
            r.queue_graphics = VkQueue.create(ctx, queues.graphics_family)
            r.queue_present = VkQueue.create(ctx, queues.present_family)
            for i in range(FRAMES_IN_FLIGHT):
                r.fences.append(VkFence.create(ctx, True, f"frame {i}"))
            r._create_semaphores()
            extras.create(ctx)  # hook
            r.scn = RenderScn.create(
                ctx,
                r.target,
                r.textures.limit,
                VkTextSamplerInfo(anisotropy=anisotropy),
                image_flags,
                extras,
            )
            r._build_color_barriers()
            return r

    def _create_semaphores(self) -> None:
        if self.offscreen is not None:
            return
        ctx = self.ctx
        old = self.sems_render_complete + self.sems_pres_complete
        self.sems_render_complete, self.sems_pres_complete, self._submits = [], [], {}
        for sem in old:
            sem.cleanup(ctx)
        assert ctx.swap_chain is not None, "on screen: a swapchain"
        for i in range(len(ctx.swap_chain.images)):  # one by one: cleanup() sees each made
            self.sems_render_complete.append(VkSemaphore.create(ctx, f"render complete {i}"))
        for i in range(FRAMES_IN_FLIGHT):
            self.sems_pres_complete.append(VkSemaphore.create(ctx, f"present complete {i}"))

    def _build_color_barriers(self) -> None:
        """Book: renderMainInit / renderMainFinish, prebuilt for each target image. An
        offscreen image needs no finishing barrier: it stays a colour attachment."""
        self._color_init = [
            ImageBarrier(
                image,
                vk.VK_IMAGE_LAYOUT_UNDEFINED,
                _COLOR_OPT,
                _COLOR_OUT,
                0,
                _COLOR_OUT,
                _COLOR_WRITE,
                vk.VK_IMAGE_ASPECT_COLOR_BIT,
            )
            for image in self.target.images
        ]
        self._color_finish = [
            ImageBarrier(
                image,
                _COLOR_OPT,
                vk.VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
                _COLOR_OUT,
                _COLOR_WRITE,
                vk.VK_PIPELINE_STAGE_2_NONE,
                0,
                vk.VK_IMAGE_ASPECT_COLOR_BIT,
            )
            for image in (self.target.images if self.offscreen is None else [])
        ]

    def init(self, eng_ctx: "EngCtx", init_data: "InitData") -> None:
        """Book: Render.init - projection, then one command buffer uploads textures,
        materials and models; staging memory is freed once its fence has signalled."""
        ctx = self.ctx
        assert self.scn is not None and self.queue_graphics is not None, "made by create"
        self.extras.loading("scene pass made, models read (game.init)")  # hook
        self.update_projection(eng_ctx)
        pool = None
        staging: list[VkBuffer] = []
        try:
            pool = VkCmdPool.create(ctx, self.queue_graphics.family, name="uploads")
            cmd = VkCmdBuff.create(ctx, pool, True, "uploads")  # freed with its pool
            cmd.begin()
            self.textures.add_default(ctx)
            self.materials.record_upload(ctx, cmd.cmd, self.textures, init_data.materials, staging)
            self.textures.record_textures(cmd.cmd)
            self.extras.loading("textures decoded and staged")  # hook
            self.models.record_uploads(ctx, cmd.cmd, init_data.models, staging)
            self.extras.loading("models staged")  # hook
            cmd.end()
            cmd.submit_and_wait(ctx, self.queue_graphics)
            self.extras.loading("staging copied on the GPU, mipmaps made")  # hook
        finally:
            with interrupts_deferred():
                for buffer in staging:
                    buffer.cleanup(ctx)
                self.textures.free_staging(ctx)
                if pool is not None:
                    pool.cleanup(ctx)
        self.scn.init(ctx, self.textures, self.materials)
        stats = ctx.vma.statistics()
        log.info(
            "loaded %d model(s), %d material(s), %d texture(s); VMA: %d allocations in %d blocks",
            len(self.models.models),
            len(self.materials.materials),
            len(self.textures.textures),
            stats.allocations,
            stats.blocks,
        )

    def update_projection(self, eng_ctx: "EngCtx") -> None:
        c = eng_ctx.constants
        extent = self.target.extent
        eng_ctx.scene.camera.proj_data.update(c.fov, c.z_near, c.z_far, extent.width, extent.height)

    def render(self, eng_ctx: "EngCtx") -> bool:
        """Book: Render.render - records (or reuses) and submits one frame; False when it was
        skipped (resize, minimised window)."""
        ctx, extras = self.ctx, self.extras
        assert self.scn is not None, "made by create"
        frame, fence = self.current_frame, self.fences[self.current_frame]
        fresh = extras.frame_start(frame)  # hook
        fence.wait(ctx)
        extras.stage("wait", frame)  # hook
        wnd = eng_ctx.wnd
        if self.offscreen is None:
            assert wnd is not None and ctx.swap_chain is not None, "on screen: a window"
            if wnd.resized or self.must_resize:
                self.resize(eng_ctx)
                return False
            index = ctx.swap_chain.acquire(ctx, self.sems_pres_complete[frame].semaphore)
            if index is None:
                self.resize(eng_ctx)
                return False
        else:
            index = frame
        extras.stage("acquire", frame)  # hook
        self.scn.update_uniforms(eng_ctx.scene, frame)
        extras.stage("uniforms", frame)  # hook
        cmd = self._command_buffer(eng_ctx.scene, frame, index, fresh)
        extras.stage("record", frame)  # hook
        fence.reset(ctx)
        self._submit(cmd, frame, index, fence)
        extras.stage("submit", frame)  # hook
        if self.offscreen is None:
            assert ctx.swap_chain is not None and self.queue_present is not None
            self.must_resize = not ctx.swap_chain.present(
                self.queue_present, self.sems_render_complete[index].semaphore, index
            )
        extras.stage("present", frame)  # hook
        self.current_frame = (frame + 1) % FRAMES_IN_FLIGHT
        return True

    def _command_buffer(self, scene: Scene, frame: int, index: int, fresh: bool) -> Any:
        """The frame's command buffer, recorded again if RenderScn's version changed since (or
        when `fresh`: a recording not kept for reuse)."""
        assert self.scn is not None and self.queue_graphics is not None, "made by create"
        version = self.scn.prepare(self.ctx, scene, self.models, self.materials, frame)
        recording = self.recordings.get((frame, index))
        if recording is None:
            name = f"frame {frame} image {index}"
            recording = self.recordings[(frame, index)] = Recording(
                VkCmdPool.create(self.ctx, self.queue_graphics.family, name=name)
            )  # kept before the command buffer is made: cleanup() destroys the pool
            recording.cmd_buff = VkCmdBuff.create(self.ctx, recording.pool, False, name)
        cmd_buff = recording.cmd_buff
        assert cmd_buff is not None, "made with its recording"
        if recording.version == version and not fresh:
            return cmd_buff.cmd
        recording.pool.reset(self.ctx)  # one pool per command buffer, as drivers prefer
        cmd_buff.begin()
        cmd = cmd_buff.cmd
        self.extras.begin_commands(cmd, frame)  # hook
        self._color_init[index].record(cmd)
        self.scn.record(cmd, index, frame)
        self.extras.end_commands(cmd, frame, self.target.images[index], self.target)  # hook
        if self._color_finish:
            self._color_finish[index].record(cmd)
        cmd_buff.end()
        recording.version = None if fresh else version
        return cmd

    def _submit(self, cmd: Any, frame: int, index: int, fence: VkFence) -> None:
        """Book: Render.submit, with a VkSubmitInfo2 built once per (frame, image, buffer)."""
        key = (frame, index, vk_int(cmd))
        assert self.queue_graphics is not None, "made by create"
        submit = self._submits.get(key)
        if submit is None:
            waits: list[tuple[Any, int]] = []
            signals: list[tuple[Any, int]] = []
            if self.offscreen is None:
                waits = [(self.sems_pres_complete[frame].semaphore, _COLOR_OUT)]
                done = self.sems_render_complete[index].semaphore
                signals = [(done, vk.VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT)]
            submit = self._submits[key] = self.queue_graphics.prebuild_submit([cmd], waits, signals)
        self.queue_graphics.submit_prebuilt(submit, fence.fence)

    def reload_shaders(self, shaders: dict[str, Path]) -> None:
        """Between frames: the scene's pipelines from other shader files (an extra's)."""
        assert self.scn is not None, "made by create"
        self.ctx.device.wait()
        self.scn.rebuild_pipelines(self.ctx, self.target.format, shaders)

    @property
    def draw_count(self) -> int:
        return self.scn.draw_count if self.scn is not None else 0

    def resize(self, eng_ctx: "EngCtx") -> None:
        """Book: Render.resize - a new swapchain, semaphores, depth attachments, projection."""
        wnd = eng_ctx.wnd
        assert wnd is not None and self.scn is not None, "resize is for a window's Render"
        width, height = wnd.pixel_size()
        if width == 0 or height == 0 or wnd.is_minimized():
            self.must_resize = True  # try again once the window has a size
            return
        if wnd.limit_size(*self.ctx.phys.max_target_size):
            self.must_resize = True  # larger than the device can render: shrunk, try again
            return
        self.must_resize = False
        ctx = self.ctx
        ctx.device.wait()
        ctx.resize(wnd)
        self._create_semaphores()
        self.update_projection(eng_ctx)
        self.scn.resize(ctx, self.target)
        self._build_color_barriers()
        assert ctx.swap_chain is not None
        log.debug("resized to %dx%d", ctx.swap_chain.extent.width, ctx.swap_chain.extent.height)

    @teardown
    def cleanup(self) -> None:
        ctx = self.ctx
        try:
            ctx.device.wait()
        except DeviceLostError as exc:  # a lost device runs nothing: destroy all the same
            log.warning("%s; destroying everything", exc)
        if self.scn is not None:
            self.scn.cleanup(ctx)
        self.extras.cleanup(ctx)  # hook
        self.textures.cleanup(ctx)
        self.materials.cleanup(ctx)
        self.models.cleanup(ctx)
        for recording in self.recordings.values():
            recording.pool.cleanup(ctx)
        for fence in self.fences:
            fence.cleanup(ctx)
        for sem in self.sems_render_complete + self.sems_pres_complete:
            sem.cleanup(ctx)
        if self.offscreen is not None:
            self.offscreen.cleanup(ctx)
