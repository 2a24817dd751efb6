"""Book ch.10 (render.zig): frames in flight, acquire / record / submit / present, resize.

Without a window the engine renders into an `OffscreenTarget`, a set of VMA-allocated colour
images that stands in for the swapchain; any frame can be captured into a host-visible buffer
(a screenshot), windowed or not.
"""

import logging
from time import perf_counter, thread_time

import numpy as np
import vulkan as vk

from eng.com.common import FRAMES_IN_FLIGHT
from eng.models_cache import MaterialsCache, ModelsCache
from eng.render_scn import COMMITTED_SHADERS, RenderScn
from eng.texture_cache import TextureCache, device_texture_limit
from eng.vk.buf import VkBuffer
from eng.vk.cmd import VkCmdBuff, VkCmdPool
from eng.vk.image import VkImage, VkImageData
from eng.vk.imv import VkImageView, VkImageViewData
from eng.vk.queue import VkQueue
from eng.vk.swap import Extent
from eng.vk.sync import VkFence, VkSemaphore
from eng.vk.texture import VkTextSamplerInfo
from eng.vk.util import ImageBarrier, copy_region, vk_int
from eng.vk.vma import VmaFlags

log = logging.getLogger("eng.render")

_COLOR_OUT = vk.VK_PIPELINE_STAGE_2_COLOR_ATTACHMENT_OUTPUT_BIT
_COLOR_WRITE = vk.VK_ACCESS_2_COLOR_ATTACHMENT_WRITE_BIT
_COLOR_OPT = vk.VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL
_TRANSFER_SRC = vk.VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL
_BGRA_FORMATS = {vk.VK_FORMAT_B8G8R8A8_SRGB, vk.VK_FORMAT_B8G8R8A8_UNORM}


class Attachment:
    """Book: Attachment - a VMA image and its view, for colour or depth."""

    def __init__(self, image: VkImage, view: VkImageView) -> None:
        self.image = image
        self.view = view

    @classmethod
    def create(
        cls, ctx, width, height, fmt, usage, name: str = "", vma_flags: int = VmaFlags.NONE
    ) -> "Attachment":
        depth = bool(usage & vk.VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT)
        aspect = vk.VK_IMAGE_ASPECT_DEPTH_BIT if depth else vk.VK_IMAGE_ASPECT_COLOR_BIT
        image = VkImage.create(
            ctx,
            VkImageData(
                width=width,
                height=height,
                format=fmt,
                usage=usage | vk.VK_IMAGE_USAGE_SAMPLED_BIT,
                vma_flags=vma_flags,
            ),
            name,
        )
        try:
            view = VkImageView.create(
                ctx.device, image.image, VkImageViewData(format=fmt, aspect_mask=aspect), name
            )
        except BaseException:
            image.cleanup(ctx)
            raise
        return cls(image, view)

    def cleanup(self, ctx) -> None:
        self.view.cleanup(ctx.device)
        self.image.cleanup(ctx)


class OffscreenTarget:
    """Colour images to render into when there is no window (one per frame in flight)."""

    def __init__(self, attachments: list[Attachment], extent: Extent, fmt: int) -> None:
        self.attachments = attachments
        self.images = [a.image.image for a in attachments]
        self.image_views = [a.view for a in attachments]
        self.extent = extent
        self.format = fmt

    @classmethod
    def create(cls, ctx, width: int, height: int, image_flags: int = VmaFlags.NONE):
        fmt = vk.VK_FORMAT_R8G8B8A8_SRGB
        usage = vk.VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT
        target = cls([], Extent(width, height), fmt)
        try:
            for i in range(FRAMES_IN_FLIGHT):
                attachment = Attachment.create(
                    ctx, width, height, fmt, usage, f"offscreen {i}", image_flags
                )
                target.attachments.append(attachment)
                target.images.append(attachment.image.image)
                target.image_views.append(attachment.view)
        except BaseException:
            target.cleanup(ctx)
            raise
        return target

    def cleanup(self, ctx) -> None:
        for attachment in self.attachments:
            attachment.cleanup(ctx)


class Render:
    def __init__(self, ctx, offscreen: OffscreenTarget | None, image_flags: int) -> None:
        self.ctx = ctx
        self.offscreen = offscreen
        self.current_frame = 0
        self.must_resize = False
        self.frames_rendered = 0
        self.textures = TextureCache(device_texture_limit(ctx.phys), image_flags)
        self.materials = MaterialsCache()
        self.models = ModelsCache()
        self.scn: RenderScn | None = None
        self.sems_render_complete: list[VkSemaphore] = []
        self.sems_pres_complete: list[VkSemaphore] = []
        self._capture: tuple[VkBuffer, int] | None = None
        self.generation = 0  # bumped by resize: recorded command buffers are then stale
        # (frame slot, target image) -> [command pool, command buffer, what it was recorded for]
        self.recordings: dict[tuple[int, int], list] = {}
        self._submits: dict = {}
        self.timings: StageTimings | None = None
        self.cull = True  # frustum culling (not in the book)
        self.gpu_timer: GpuTimer | None = None
        self.fences: list[VkFence] = []

    @property
    def target(self):
        return self.offscreen if self.offscreen is not None else self.ctx.swap_chain

    @classmethod
    def create(
        cls,
        ctx,
        headless_size: tuple[int, int] | None = None,
        profile: bool = False,
        dedicated_images: bool = False,
        anisotropy: bool = True,
        shader_stages: list = COMMITTED_SHADERS,
        depth_prepass: bool = False,
    ) -> "Render":
        """With `profile`, stage times, GPU timestamps and fragment shader invocations of
        every frame are recorded; `shader_stages` are the scene's SPIR-V files and stages;
        `depth_prepass` see RenderScn.create.

        The book gives every image its own VkDeviceMemory; by default we let VMA place
        textures and attachments in its blocks (`dedicated_images` restores the book's way).
        """
        image_flags = VmaFlags.DEDICATED_MEMORY if dedicated_images else VmaFlags.NONE
        offscreen = (
            OffscreenTarget.create(ctx, *headless_size, image_flags) if headless_size else None
        )
        r = cls(ctx, offscreen, image_flags)
        try:
            queues = ctx.phys.queues_info
            r.queue_graphics = VkQueue.create(ctx, queues.graphics_family)
            r.queue_present = VkQueue.create(ctx, queues.present_family)
            for i in range(FRAMES_IN_FLIGHT):
                r.fences.append(VkFence.create(ctx, True, f"frame {i}"))
            if profile:
                r.timings = StageTimings()
                r.gpu_timer = GpuTimer.create(ctx)
            r._create_semaphores()
            r.scn = RenderScn.create(
                ctx,
                r.target,
                r.textures.limit,
                VkTextSamplerInfo(anisotropy=anisotropy),
                image_flags,
                shader_stages,
                depth_prepass,
            )
            r._build_color_barriers()
        except BaseException:
            r.cleanup()
            raise
        return r

    def _create_semaphores(self) -> None:
        if self.offscreen is not None:
            return
        ctx = self.ctx
        for sem in self.sems_render_complete + self.sems_pres_complete:
            sem.cleanup(ctx)
        self.sems_render_complete = [
            VkSemaphore.create(ctx, f"render complete {i}")
            for i in range(len(ctx.swap_chain.images))
        ]
        self.sems_pres_complete = [
            VkSemaphore.create(ctx, f"present complete {i}") for i in range(FRAMES_IN_FLIGHT)
        ]
        self._submits = {}

    def _build_color_barriers(self) -> None:
        """Book: renderMainInit / renderMainFinish, prebuilt for each target image. An
        offscreen image needs no finishing barrier: it stays a colour attachment until a
        capture copies it."""
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

    def init(self, eng_ctx, init_data) -> None:
        """Book: Render.init - projection, then one command buffer uploads textures,
        materials and models; staging memory is freed once its fence has signalled."""
        ctx = self.ctx
        self.update_projection(eng_ctx)
        pool = VkCmdPool.create(ctx, self.queue_graphics.family, name="uploads")
        cmd = VkCmdBuff.create(ctx, pool, True, "uploads")
        staging: list[VkBuffer] = []
        try:
            cmd.begin()
            self.textures.add_default(ctx)
            self.materials.record_upload(ctx, cmd.cmd, self.textures, init_data.materials, staging)
            log.debug("textures decoded and staged, materials staged")
            self.textures.record_textures(cmd.cmd)
            self.models.record_uploads(ctx, cmd.cmd, init_data.models, staging)
            cmd.end()
            log.debug("models staged; uploading")
            cmd.submit_and_wait(ctx, self.queue_graphics)
            log.debug("uploads done (mipmaps generated)")
        finally:
            for buffer in staging:
                buffer.cleanup(ctx)
            self.textures.free_staging(ctx)
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

    def update_projection(self, eng_ctx) -> None:
        c = eng_ctx.constants
        extent = self.target.extent
        eng_ctx.scene.camera.proj_data.update(c.fov, c.z_near, c.z_far, extent.width, extent.height)

    def render(self, eng_ctx, capture: bool = False) -> bool:
        """Records (or reuses) and submits one frame; False when it was skipped (resize,
        minimised window)."""
        ctx = self.ctx
        frame = self.current_frame
        fence = self.fences[frame]
        timings = self.timings
        lap = timings.lap if timings is not None else _no_lap
        if timings is not None:
            timings.begin()
        fence.wait(ctx)
        lap("wait")
        wnd = eng_ctx.wnd
        if self.offscreen is None:
            if wnd.resized or self.must_resize:
                self.resize(eng_ctx)
                return False
            index = ctx.swap_chain.acquire(ctx, self.sems_pres_complete[frame].semaphore)
            if index is None:
                self.resize(eng_ctx)
                return False
        else:
            index = frame
        if self.gpu_timer is not None:
            self.gpu_timer.collect(ctx, frame, self.frames_rendered % GpuTimer.EVERY < 2)
        lap("acquire")
        self.scn.update_uniforms(eng_ctx.scene, frame)
        lap("uniforms")
        cmd = self._command_buffer(eng_ctx.scene, frame, index, capture)
        lap("record")
        fence.reset(ctx)
        self._submit(cmd, frame, index, fence)
        lap("submit")
        if self.offscreen is None:
            self.must_resize = not ctx.swap_chain.present(
                self.queue_present, self.sems_render_complete[index].semaphore, index
            )
        lap("present")
        self.current_frame = (frame + 1) % FRAMES_IN_FLIGHT
        self.frames_rendered += 1
        return True

    def _command_buffer(self, scene, frame: int, index: int, capture: bool):
        """The frame's command buffer: the one recorded earlier for this frame slot and
        target image if nothing it depends on changed (scene, entities, size), else a new
        recording. Capture frames are always recorded afresh."""
        version = self.scn.prepare(self.ctx, scene, self.models, self.materials, frame, self.cull)
        key = (version, self.generation)
        recording = self.recordings.get((frame, index))
        if recording is None:
            name = f"frame {frame} image {index}"
            pool = VkCmdPool.create(self.ctx, self.queue_graphics.family, name=name)
            recording = [pool, VkCmdBuff.create(self.ctx, pool, False, name), None]
            self.recordings[(frame, index)] = recording
        pool, cmd_buff, recorded_key = recording
        if recorded_key == key and not capture:
            return cmd_buff.cmd
        pool.reset(self.ctx)  # one pool per command buffer: reset the pool, as drivers prefer
        cmd_buff.begin()
        cmd = cmd_buff.cmd
        if self.gpu_timer is not None:
            self.gpu_timer.record_begin(cmd, frame)
        self._color_init[index].record(cmd)
        self.scn.record(cmd, index, frame)
        if capture:
            self._record_capture(cmd, index)
        elif self._color_finish:
            self._color_finish[index].record(cmd)
        if self.gpu_timer is not None:
            self.gpu_timer.record_end(cmd, frame)
        cmd_buff.end()
        recording[2] = None if capture else key
        return cmd

    def _submit(self, cmd, frame: int, index: int, fence: VkFence) -> None:
        """vkQueueSubmit2 with a VkSubmitInfo2 built once per (frame, image, command buffer)."""
        key = (frame, index, vk_int(cmd))
        submit = self._submits.get(key)
        if submit is None:
            waits = signals = ()
            if self.offscreen is None:
                waits = [(self.sems_pres_complete[frame].semaphore, _COLOR_OUT)]
                signals = [
                    (
                        self.sems_render_complete[index].semaphore,
                        vk.VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT,
                    )
                ]
            submit = self._submits[key] = self.queue_graphics.prebuild_submit([cmd], waits, signals)
        self.queue_graphics.submit_prebuilt(submit, fence.fence)

    def _record_capture(self, cmd, index: int) -> None:
        """Copies the frame's colour image into a host-visible buffer, then finishes it."""
        ctx = self.ctx
        extent = self.target.extent
        if self._capture is not None:
            self._capture[0].cleanup(ctx)
        buffer = VkBuffer.create(
            ctx,
            extent.width * extent.height * 4,
            vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT,
            VmaFlags.HOST_ACCESS_RANDOM | VmaFlags.MAPPED,
            name="screenshot",
        )
        self._capture = (buffer, self.current_frame)
        image = self.target.images[index]
        to_src = ImageBarrier(
            image,
            _COLOR_OPT,
            _TRANSFER_SRC,
            _COLOR_OUT,
            _COLOR_WRITE,
            vk.VK_PIPELINE_STAGE_2_ALL_TRANSFER_BIT,
            vk.VK_ACCESS_2_TRANSFER_READ_BIT,
            vk.VK_IMAGE_ASPECT_COLOR_BIT,
        )
        to_src.record(cmd)
        region = copy_region(extent.width, extent.height)
        vk.vkCmdCopyImageToBuffer(cmd, image, _TRANSFER_SRC, buffer.buffer, 1, [region])
        if self.offscreen is None:  # back to the presentation engine
            back = ImageBarrier(
                image,
                _TRANSFER_SRC,
                vk.VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
                vk.VK_PIPELINE_STAGE_2_ALL_TRANSFER_BIT,
                vk.VK_ACCESS_2_TRANSFER_READ_BIT,
                vk.VK_PIPELINE_STAGE_2_NONE,
                0,
                vk.VK_IMAGE_ASPECT_COLOR_BIT,
            )
            back.record(cmd)

    def read_capture(self) -> np.ndarray:
        """The captured frame as an (height, width, 4) RGBA uint8 array."""
        buffer, frame = self._capture
        self.fences[frame].wait(self.ctx)
        extent = self.target.extent
        pixels = np.frombuffer(buffer.read(self.ctx), np.uint8).reshape(
            extent.height, extent.width, 4
        )
        if self.target.format in _BGRA_FORMATS:
            pixels = pixels[..., [2, 1, 0, 3]]
        buffer.cleanup(self.ctx)
        self._capture = None
        return pixels.copy()

    def reload_shaders(self, shader_stages: list) -> None:
        """Between frames: the scene's pipelines from new shaders (`--watch-shaders`)."""
        self.ctx.device.wait()
        self.scn.rebuild_pipelines(self.ctx, self.target.format, shader_stages)

    def resize(self, eng_ctx) -> None:
        """Book: Render.resize - a new swapchain, semaphores, depth attachments, projection."""
        wnd = eng_ctx.wnd
        width, height = wnd.pixel_size()
        if width == 0 or height == 0 or wnd.is_minimized():
            self.must_resize = True  # try again once the window has a size
            return
        self.must_resize = False
        self.generation += 1
        ctx = self.ctx
        ctx.device.wait()
        ctx.resize(wnd)
        self._create_semaphores()
        self.update_projection(eng_ctx)
        self.scn.resize(ctx, self.target)
        self._build_color_barriers()
        log.debug("resized to %dx%d", ctx.swap_chain.extent.width, ctx.swap_chain.extent.height)

    def cleanup(self) -> None:
        ctx = self.ctx
        ctx.device.wait()
        if self._capture is not None:
            self._capture[0].cleanup(ctx)
        if self.scn is not None:
            self.scn.cleanup(ctx)
        self.textures.cleanup(ctx)
        self.materials.cleanup(ctx)
        self.models.cleanup(ctx)
        for pool, _, _ in self.recordings.values():
            pool.cleanup(ctx)
        if self.gpu_timer is not None:
            self.gpu_timer.cleanup(ctx)
        for fence in self.fences:
            fence.cleanup(ctx)
        for sem in self.sems_render_complete + self.sems_pres_complete:
            sem.cleanup(ctx)
        if self.offscreen is not None:
            self.offscreen.cleanup(ctx)


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


def _no_lap(name: str) -> None:
    """Stands in for StageTimings.lap when the run is not profiled."""


class GpuTimer:
    """Timestamp queries around each frame's commands: GPU milliseconds per frame.

    Results are read for a sample of the frames: lavapipe's vkGetQueryPoolResults waits for
    all submitted work, which would otherwise stop the CPU and the GPU from overlapping.
    """

    EVERY = 8  # read the timestamps of 2 frames in every 8

    def __init__(self, pool, period_ns: float, stats_pool=None) -> None:
        self.pool = pool
        self.period_ns = period_ns
        self.stats_pool = stats_pool  # fragment shader invocations, where the device counts
        self.pending = [False] * FRAMES_IN_FLIGHT
        self.frame_ms: list[float] = []
        self.fragments: list[int] = []
        self._results = vk.ffi.new("uint64_t[2]")

    @classmethod
    def create(cls, ctx) -> "GpuTimer":
        info = vk.VkQueryPoolCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
            queryType=vk.VK_QUERY_TYPE_TIMESTAMP,
            queryCount=2 * FRAMES_IN_FLIGHT,
        )
        pool = vk.vkCreateQueryPool(ctx.device.device, info, None)
        ctx.device.set_name(vk.VK_OBJECT_TYPE_QUERY_POOL, pool, "frame timestamps")
        stats_pool = None
        if ctx.phys.features.pipelineStatisticsQuery:
            info = vk.VkQueryPoolCreateInfo(
                sType=vk.VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                queryType=vk.VK_QUERY_TYPE_PIPELINE_STATISTICS,
                queryCount=FRAMES_IN_FLIGHT,
                pipelineStatistics=_FRAGMENTS,
            )
            stats_pool = vk.vkCreateQueryPool(ctx.device.device, info, None)
            ctx.device.set_name(vk.VK_OBJECT_TYPE_QUERY_POOL, stats_pool, "frame fragments")
        return cls(pool, ctx.phys.limits.timestampPeriod, stats_pool)

    def record_begin(self, cmd, frame: int) -> None:
        vk.lib.vkCmdResetQueryPool(cmd, self.pool, 2 * frame, 2)
        vk.lib.vkCmdWriteTimestamp2(
            cmd, vk.VK_PIPELINE_STAGE_2_TOP_OF_PIPE_BIT, self.pool, 2 * frame
        )
        if self.stats_pool is not None:
            vk.lib.vkCmdResetQueryPool(cmd, self.stats_pool, frame, 1)
            vk.lib.vkCmdBeginQuery(cmd, self.stats_pool, frame, 0)

    def record_end(self, cmd, frame: int) -> None:
        if self.stats_pool is not None:
            vk.lib.vkCmdEndQuery(cmd, self.stats_pool, frame)
        vk.lib.vkCmdWriteTimestamp2(
            cmd, vk.VK_PIPELINE_STAGE_2_BOTTOM_OF_PIPE_BIT, self.pool, 2 * frame + 1
        )

    def collect(self, ctx, frame: int, sample: bool = True) -> None:
        """Reads the timestamps of the frame slot's previous submission (its fence has
        signalled) if `sample`, then marks the slot pending for the next submission."""
        if self.pending[frame] and sample:
            result = vk.lib.vkGetQueryPoolResults(
                ctx.device.device,
                self.pool,
                2 * frame,
                2,
                16,
                self._results,
                8,
                vk.VK_QUERY_RESULT_64_BIT,
            )
            if result == vk.VK_SUCCESS:
                ticks = self._results[1] - self._results[0]
                self.frame_ms.append(ticks * self.period_ns / 1e6)
            if self.stats_pool is not None:
                result = vk.lib.vkGetQueryPoolResults(
                    ctx.device.device,
                    self.stats_pool,
                    frame,
                    1,
                    8,
                    self._results,
                    8,
                    vk.VK_QUERY_RESULT_64_BIT,
                )
                if result == vk.VK_SUCCESS:
                    self.fragments.append(int(self._results[0]))
        self.pending[frame] = True

    def collect_all(self, ctx) -> None:
        """After the device is idle: the frames still pending."""
        for frame in range(FRAMES_IN_FLIGHT):
            self.collect(ctx, frame)
            self.pending[frame] = False

    def cleanup(self, ctx) -> None:
        vk.vkDestroyQueryPool(ctx.device.device, self.pool, None)
        if self.stats_pool is not None:
            vk.vkDestroyQueryPool(ctx.device.device, self.stats_pool, None)


_FRAGMENTS = vk.VK_QUERY_PIPELINE_STATISTIC_FRAGMENT_SHADER_INVOCATIONS_BIT
