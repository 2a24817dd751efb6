"""Book ch.10 (renderScn.zig): the scene pass - depth attachments, camera buffers, descriptor
sets, the pipelines, and the draw loop.

The draw loop calls the `vulkan` package's `lib` functions with cdata built beforehand (at
create, resize or when the scene changes), so a frame allocates nothing per mesh: the draw
list is in eng/draw_list.py, the rendering infos in eng/pass_structs.py. Extras join the pass
through the hooks of eng/hooks.py (each call marked `# hook`).
"""

import logging
from pathlib import Path
from typing import Any

import vulkan as vk

from eng.attachment import Attachment
from eng.com.common import FRAMES_IN_FLIGHT
from eng.com.interrupts import teardown
from eng.com.paths import SHADERS_DIR
from eng.draw_list import PUSH_SIZE, PUSH_STAGES, DrawItem, DrawList
from eng.hooks import Extras, PassFrame, PipelineSpec, Target
from eng.models_cache import MaterialsCache, ModelsCache
from eng.pass_structs import PassStructs
from eng.scene import Scene
from eng.texture_cache import TextureCache
from eng.vk.buf import VkBuffer
from eng.vk.ctx import VkCtx
from eng.vk.desc import VkDescSetLayout
from eng.vk.errors import cleanup_on_error
from eng.vk.pipe import VkPipeline, VkPipelineCreateInfo, VkShaderModule, VtxBuffDesc
from eng.vk.record import bind_geometry
from eng.vk.texture import VkTextSampler, VkTextSamplerInfo
from eng.vk.util import MATRIX_SIZE, create_host_visible_buff
from eng.vk.vma import ffi as vma_ffi

log = logging.getLogger("eng.render")
VERTEX, FRAGMENT = vk.VK_SHADER_STAGE_VERTEX_BIT, vk.VK_SHADER_STAGE_FRAGMENT_BIT
BOOK_SHADERS = {name: SHADERS_DIR / f"{name}.spv" for name in ("scn_vtx", "scn_frg")}
SCENE_SHADERS = (("scn_vtx", VERTEX), ("scn_frg", FRAGMENT))
DEPTH_FORMAT = vk.VK_FORMAT_D16_UNORM
DESC_ID_CAM = "SCN_DESC_ID_CAM"
DESC_ID_MAT = "SCN_DESC_ID_MAT"
DESC_ID_TEXTS = "SCN_DESC_ID_TEXTS"
VTX_DESC = VtxBuffDesc(
    stride=20,
    attributes=((0, vk.VK_FORMAT_R32G32B32_SFLOAT, 0), (1, vk.VK_FORMAT_R32G32_SFLOAT, 12)),
)
# Two pipelines where the book has one: opaque meshes need no blending (the same picture,
# less work for the rasterizer); transparent ones blend as in the book, and are drawn last.
BOOK_PIPELINES = (
    PipelineSpec("opaque", SCENE_SHADERS),
    PipelineSpec("blend", SCENE_SHADERS, blend=True),
)


class RenderScn:
    """`version` is the one thing that says whether a recorded command buffer is still valid:
    it goes up whenever a new recording would differ - the draw list was rebuilt or an entity
    moved, an extra's draws changed (`Extra.prepare`), the target was resized, or the
    pipelines were rebuilt. Render re-records a frame whose recording has an older version."""

    def __init__(self, extras: Extras) -> None:
        self.extras = extras
        self.image_flags = 0  # the VMA flags of the depth attachments, from create
        self.texture_count = 0
        self.shaders: dict[str, Path] = {}  # SPIR-V files by shader name
        self.depth_attachments: list[Attachment] = []
        self.cam_buffers: list[VkBuffer] = []
        self.layouts: list[VkDescSetLayout] = []  # camera, materials, textures (sets 0-2)
        self.pipelines: dict[str, VkPipeline] = {}  # the book's and the extras', by name
        self.sampler: VkTextSampler | None = None
        self.draw_list = DrawList()
        self.version = 0
        self.structs: PassStructs | None = None  # per target image, from _create_depth
        self.desc_sets: list[Any] = []  # per frame slot, from init

    @classmethod
    def create(
        cls,
        ctx: VkCtx,
        target: Target,
        texture_count: int,
        sampler_info: VkTextSamplerInfo,
        image_flags: int,
        extras: Extras,
    ) -> "RenderScn":
        """`target` gives the colour format, extent and images (swapchain or offscreen);
        `image_flags` are the VMA flags of the depth attachments. Everything is added to its
        list as soon as it exists, so a failure part-way cleans up exactly what was made."""
        with cleanup_on_error(cls(extras), ctx) as scn:
            scn.image_flags = image_flags
            scn.texture_count = texture_count
            scn.shaders = BOOK_SHADERS | extras.shader_files()  # hook
            scn.sampler = VkTextSampler.create(ctx, sampler_info)
            for desc_type, stage, count, name in (
                (vk.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, VERTEX, 1, "camera"),
                (vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, FRAGMENT, 1, "materials"),
                (vk.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, FRAGMENT, texture_count, "textures"),
            ):
                scn.layouts.append(VkDescSetLayout.create(ctx, 0, desc_type, stage, count, name))
            for i in range(FRAMES_IN_FLIGHT):
                scn.cam_buffers.append(
                    create_host_visible_buff(
                        ctx,
                        f"{DESC_ID_CAM}{i}",
                        MATRIX_SIZE * 2,
                        vk.VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                        scn.layouts[0],
                    )
                )
            scn._create_pipelines(ctx, target.format, scn.pipelines)
            log.debug("pipelines created")
            scn._create_depth(ctx, target)
            return scn

    def _create_pipelines(
        self, ctx: VkCtx, color_format: int, pipelines: dict[str, VkPipeline]
    ) -> None:
        """The book's pipelines and the extras' into `pipelines`, each added as soon as it
        exists, so that its owner cleans up what was made. Each shader is reflected and checked
        against its pipeline first (SpirvError naming the file: eng/shader_check.py)."""
        modules: dict[tuple[str, int], VkShaderModule] = {}
        sources = self.extras.shader_sources()  # hook
        try:
            for spec in BOOK_PIPELINES + tuple(self.extras.pipeline_specs()):  # hook
                for shader in spec.shaders:
                    if shader not in modules:
                        path = self.shaders[shader[0]]
                        name = sources.get(path, str(path))
                        modules[shader] = VkShaderModule.create(ctx, path, shader[1], name)
                info = VkPipelineCreateInfo(
                    color_format=color_format,
                    depth_format=DEPTH_FORMAT,
                    desc_set_layouts=self.layouts + list(spec.extra_layouts),
                    modules=[modules[shader] for shader in spec.shaders],
                    push_constants=[(PUSH_STAGES, 0, PUSH_SIZE)],
                    vtx_buff_desc=VTX_DESC,
                    use_blend=spec.blend,
                    spec_constants={0: self.texture_count},
                    color_write=spec.color_write,
                    cull_back=spec.cull_back,
                )
                pipelines[spec.name] = VkPipeline.create(ctx, info, spec.name)
        finally:
            for module in modules.values():
                module.cleanup(ctx)

    def rebuild_pipelines(self, ctx: VkCtx, color_format: int, shaders: dict[str, Path]) -> None:
        """New pipelines from other shader files (the device must be idle); the old ones stay
        if creating the new ones fails (a VulkanError, or a SpirvError)."""
        old_shaders, self.shaders = self.shaders, self.shaders | shaders
        pipelines: dict[str, VkPipeline] = {}
        try:
            self._create_pipelines(ctx, color_format, pipelines)
        except BaseException:
            self.shaders = old_shaders
            for pipeline in pipelines.values():
                pipeline.cleanup(ctx)
            raise
        old, self.pipelines = self.pipelines, pipelines
        for pipeline in old.values():
            pipeline.cleanup(ctx)
        self.version += 1

    def _create_depth(self, ctx: VkCtx, target: Target) -> None:
        for i in range(len(target.images)):
            self.depth_attachments.append(
                Attachment.create(
                    ctx,
                    target.extent.width,
                    target.extent.height,
                    DEPTH_FORMAT,
                    vk.VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT,
                    f"depth {i}",
                    self.image_flags,
                )
            )
        self.structs = PassStructs.build(target, self.depth_attachments)

    def init(
        self, ctx: VkCtx, texture_cache: TextureCache, materials_cache: MaterialsCache
    ) -> None:
        """Book: RenderScn.init - descriptor sets for the textures and the materials."""
        _, layout_materials, layout_textures = self.layouts
        assert self.sampler is not None and materials_cache.materials_buffer is not None
        textures = ctx.desc_allocator.add_desc_set(ctx, DESC_ID_TEXTS, layout_textures)
        textures.set_image_arr(
            ctx, texture_cache.descriptor_views(self.texture_count), self.sampler, 0
        )
        materials = ctx.desc_allocator.add_desc_set(ctx, DESC_ID_MAT, layout_materials)
        materials.set_buffer(
            ctx, materials_cache.materials_buffer, 0, vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
        )
        self.desc_sets = [
            vk.ffi.new(
                "VkDescriptorSet[3]",
                [
                    ctx.desc_allocator.get_desc_set(f"{DESC_ID_CAM}{frame}").desc_set,
                    materials.desc_set,
                    textures.desc_set,
                ],
            )
            for frame in range(FRAMES_IN_FLIGHT)
        ]

    def update_uniforms(self, scene: Scene, frame: int) -> None:
        """Book: updateCamera - the camera matrices into the frame's (persistently mapped)
        uniform buffer."""
        cam = scene.camera
        mapped = vma_ffi.cast("char*", self.cam_buffers[frame].mapped_data)
        vma_ffi.memmove(mapped, cam.proj_data.proj_matrix.to_bytes(), MATRIX_SIZE)
        vma_ffi.memmove(mapped + MATRIX_SIZE, cam.view_data.view_matrix.to_bytes(), MATRIX_SIZE)

    def prepare(
        self,
        ctx: VkCtx,
        scene: Scene,
        models_cache: ModelsCache,
        materials_cache: MaterialsCache,
        frame: int,
    ) -> int:
        """Brings the draw list (and the extras) up to date with the scene for the frame slot
        `frame`; returns `version`."""
        changed = self.draw_list.update(scene, models_cache, materials_cache)
        pass_frame = PassFrame(ctx, scene, models_cache, materials_cache, frame, changed)
        if self.extras.prepare(self, pass_frame) or changed:  # hook
            self.version += 1
        return self.version

    def record(self, cmd: Any, image_index: int, frame: int) -> None:
        """Book: RenderScn.render - records the scene pass with prebuilt cdata."""
        lib = vk.lib
        structs = self.structs
        assert structs is not None, "made by create"
        self.extras.before_pass(cmd, frame)  # hook
        structs.depth_barriers[image_index].record(cmd)
        lib.vkCmdBeginRendering(cmd, structs.rendering_infos[image_index])
        graphics = vk.VK_PIPELINE_BIND_POINT_GRAPHICS
        lib.vkCmdSetViewport(cmd, 0, 1, structs.viewport)
        lib.vkCmdSetScissor(cmd, 0, 1, structs.scissor)
        opaque, blend = self.pipelines["opaque"], self.pipelines["blend"]
        # every pipeline's sets 0-2 have the same layouts, hence stay bound across them
        lib.vkCmdBindDescriptorSets(
            cmd, graphics, opaque.layout, 0, 3, self.desc_sets[frame], 0, vk.ffi.NULL
        )
        self.extras.before_draws(cmd, self, frame)  # hook
        lib.vkCmdBindPipeline(cmd, graphics, opaque.pipeline)
        self.record_items(cmd, self.draw_list.opaque)
        self.extras.after_draws(cmd, self, frame, transparent=False)  # hook
        lib.vkCmdBindPipeline(cmd, graphics, blend.pipeline)
        self.record_items(cmd, self.draw_list.blended)
        self.extras.after_draws(cmd, self, frame, transparent=True)  # hook
        lib.vkCmdEndRendering(cmd)

    def record_items(self, cmd: Any, items: list[DrawItem]) -> None:
        """Book: renderEntities - per mesh, push the model matrix and material and draw."""
        lib = vk.lib
        layout = self.pipelines["opaque"].layout
        bound = None
        for item in items:
            if item.vtx_buffer is not bound:
                bind_geometry(cmd, item.vtx_buffer, item.idx_buffer)
                bound = item.vtx_buffer
            lib.vkCmdPushConstants(cmd, layout, PUSH_STAGES, 0, PUSH_SIZE, item.push)
            lib.vkCmdDrawIndexed(cmd, item.index_count, 1, item.first_index, item.vertex_offset, 0)
            self.extras.drawn(cmd, item.index_count // 3)  # hook

    def resize(self, ctx: VkCtx, target: Target) -> None:
        self._cleanup_depth(ctx)
        self._create_depth(ctx, target)
        self.version += 1

    @teardown
    def _cleanup_depth(self, ctx: VkCtx) -> None:
        attachments, self.depth_attachments = self.depth_attachments, []
        for attachment in attachments:  # emptied first: never destroyed twice
            attachment.cleanup(ctx)

    @property
    def draw_count(self) -> int:
        """Draw calls a frame records: one per mesh drawn, and the extras' own."""
        shown = len(self.draw_list.opaque) + len(self.draw_list.blended)
        return shown + self.extras.draw_count()  # hook

    @teardown
    def cleanup(self, ctx: VkCtx) -> None:
        """Destroys what exists, in reverse order of creation; safe after a failed create."""
        self._cleanup_depth(ctx)
        pipelines, self.pipelines = self.pipelines, {}
        for pipeline in pipelines.values():
            pipeline.cleanup(ctx)
        for buffer in self.cam_buffers:
            buffer.cleanup(ctx)
        for layout in self.layouts:
            layout.cleanup(ctx)
        if self.sampler is not None:
            self.sampler.cleanup(ctx)
        self.cam_buffers, self.layouts, self.sampler = [], [], None
