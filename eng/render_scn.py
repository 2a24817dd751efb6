"""Book ch.10 (renderScn.zig): the scene pass - depth attachments, camera buffers, descriptor
sets, the pipeline, and the draw loop.

The draw loop calls the `vulkan` package's `lib` functions with cdata built beforehand (at
create, resize or when the scene changes), so a frame allocates nothing per mesh: the draw
list and its culling are in eng/draw_list.py, the rendering infos in eng/pass_structs.py.
"""

import logging
from pathlib import Path
from typing import Any

import vulkan as vk
from pyglm import glm

from eng.attachment import Attachment
from eng.com.common import FRAMES_IN_FLIGHT
from eng.draw_list import PUSH_SIZE, PUSH_STAGES, DrawList, record_items
from eng.extras.culling import frustum_planes
from eng.extras.handoff import HandOffs
from eng.extras.render_inst import RenderInstances
from eng.extras.shader_watch import SHADERS, STAGES, pipeline_stages
from eng.models_cache import MaterialsCache, ModelsCache
from eng.pass_structs import PassStructs, Target
from eng.scene import Scene
from eng.texture_cache import TextureCache
from eng.vk.buf import VkBuffer
from eng.vk.ctx import VkCtx
from eng.vk.desc import VkDescSetLayout
from eng.vk.errors import cleanup_on_error
from eng.vk.pipe import VkPipeline, VkPipelineCreateInfo, VkShaderModule, VtxBuffDesc
from eng.vk.texture import VkTextSampler, VkTextSamplerInfo
from eng.vk.util import MATRIX_SIZE, create_host_visible_buff
from eng.vk.vma import ffi as vma_ffi

log = logging.getLogger("eng.render")
COMMITTED_SHADERS = [
    (SHADERS / f"{s.name}.spv", s.stage) for s in STAGES
]  # the SPIR-V of eng/res/shaders/
DEPTH_FORMAT = vk.VK_FORMAT_D16_UNORM
DESC_ID_CAM = "SCN_DESC_ID_CAM"
DESC_ID_MAT = "SCN_DESC_ID_MAT"
DESC_ID_TEXTS = "SCN_DESC_ID_TEXTS"
VTX_DESC = VtxBuffDesc(
    stride=20,
    attributes=((0, vk.VK_FORMAT_R32G32B32_SFLOAT, 0), (1, vk.VK_FORMAT_R32G32_SFLOAT, 12)),
)


class RenderScn:
    def __init__(self) -> None:
        self.image_flags = 0  # the VMA flags of the depth attachments, from create
        self.depth_prepass = False  # opaque front faces drawn depth-only first (not in the book)
        self.texture_count = 0
        self.depth_attachments: list[Attachment] = []
        self.cam_buffers: list[VkBuffer] = []
        self.layouts: list[VkDescSetLayout] = []  # camera, materials, textures (sets 0-2)
        self.pipelines: list[VkPipeline] = []  # opaque, blend (and depth, with a pre-pass)
        self.instances: RenderInstances | None = None  # instance batches (not in the book)
        self.handoffs: HandOffs | None = None  # on a CPU device only (not in the book)
        self.inst_pipelines: list[VkPipeline] = []  # the same kinds, for the instances
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
        shader_stages: list[tuple[Path, int]] = COMMITTED_SHADERS,
        depth_prepass: bool = False,
    ) -> "RenderScn":
        """`target` gives the colour format, extent and images (swapchain or offscreen);
        with `depth_prepass`, opaque meshes are drawn twice: their front faces depth only,
        then shaded as in the book, so hidden fragments fail the depth test before shading
        (not in the book; docs/performance.md);
        `image_flags` are the VMA flags of the depth attachments; `shader_stages` the SPIR-V
        files and stages of the pipelines. Everything is added to its list as soon as it
        exists, so a failure part-way cleans up exactly what was made."""
        with cleanup_on_error(cls(), ctx) as scn:
            scn.depth_prepass = depth_prepass
            scn.image_flags = image_flags
            scn.texture_count = texture_count
            scn.sampler = VkTextSampler.create(ctx, sampler_info)
            frag = vk.VK_SHADER_STAGE_FRAGMENT_BIT
            for desc_type, stage, count, name in (
                (vk.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, vk.VK_SHADER_STAGE_VERTEX_BIT, 1, "camera"),
                (vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, frag, 1, "materials"),
                (vk.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, frag, texture_count, "textures"),
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
            scn.instances = RenderInstances.create(ctx)
            scn.handoffs = HandOffs.create(ctx)
            scn._create_all_pipelines(
                ctx, target.format, shader_stages, scn.pipelines, scn.inst_pipelines
            )
            log.debug("pipelines created")
            scn._create_depth(ctx, target)
            return scn

    def _create_all_pipelines(
        self,
        ctx: VkCtx,
        color_format: int,
        shader_stages: list[tuple[Path, int]],
        pipelines: list[VkPipeline],
        inst: list[VkPipeline],
    ) -> None:
        """The book's pipelines into `pipelines` and the instanced ones into `inst` (the same
        fragment shader; the vertex shader reads the model matrix from set 3). Each list is
        extended in the statement that makes its pipelines, so its owner cleans up what exists."""
        book_stages, instanced_stages = pipeline_stages(shader_stages)
        pipelines.extend(
            self._create_pipelines(ctx, color_format, book_stages, self.layouts, "scene")
        )
        assert self.instances is not None and self.instances.layout is not None, "made first"
        layouts = [*self.layouts, self.instances.layout]
        inst.extend(
            self._create_pipelines(ctx, color_format, instanced_stages, layouts, "instanced")
        )

    def _create_pipelines(
        self,
        ctx: VkCtx,
        color_format: int,
        shader_stages: list[tuple[Path, int]],
        layouts: list[VkDescSetLayout],
        name: str,
    ) -> list[VkPipeline]:
        """Two pipelines: opaque meshes need no blending (the same picture, less work for the
        rasterizer); transparent ones blend as in the book, and are drawn last. With the
        pre-pass, a third draws the front faces' depth alone (docs/chapter-10.md says why the
        picture stays the book's)."""
        modules, pipelines = [], []
        try:
            for path, stage in shader_stages:
                modules.append(VkShaderModule.create(ctx, path, stage))
            kinds = ["opaque", "blend"] + (["depth"] if self.depth_prepass else [])
            vertex_only = [m for m in modules if m.stage == vk.VK_SHADER_STAGE_VERTEX_BIT]
            for kind in kinds:
                info = VkPipelineCreateInfo(
                    color_format=color_format,
                    depth_format=DEPTH_FORMAT,
                    desc_set_layouts=layouts,
                    modules=vertex_only if kind == "depth" else modules,
                    push_constants=[(PUSH_STAGES, 0, PUSH_SIZE)],
                    vtx_buff_desc=VTX_DESC,
                    use_blend=kind == "blend",
                    spec_constants={0: self.texture_count},
                    color_write=kind != "depth",
                    cull_back=kind == "depth",
                )
                pipelines.append(VkPipeline.create(ctx, info, f"{name} {kind}"))
            return pipelines
        except BaseException:
            for pipeline in pipelines:
                pipeline.cleanup(ctx)
            raise
        finally:
            for module in modules:
                module.cleanup(ctx)

    def rebuild_pipelines(
        self, ctx: VkCtx, color_format: int, shader_stages: list[tuple[Path, int]]
    ) -> None:
        """New pipelines from other shaders (the device must be idle); the old ones stay if
        creating the new ones fails. Recorded command buffers are then out of date."""
        pipelines: list[VkPipeline] = []
        inst: list[VkPipeline] = []
        try:
            self._create_all_pipelines(ctx, color_format, shader_stages, pipelines, inst)
        except BaseException:
            for pipeline in pipelines + inst:
                pipeline.cleanup(ctx)
            raise
        old = self.pipelines + self.inst_pipelines
        self.pipelines, self.inst_pipelines = pipelines, inst
        for pipeline in old:
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
        """Writes the camera matrices into the frame's (persistently mapped) uniform buffer."""
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
        cull: bool = True,
    ) -> int:
        """Brings the draw list up to date with the scene and the camera, and the frame
        slot's instance matrices (`frame`) too; returns a version number that changes
        whenever recorded commands would differ.

        With `cull`, meshes and instances outside the view frustum are left out.
        """
        draw_list = self.draw_list
        if draw_list.is_stale(scene):
            draw_list.build_draw_items(scene, models_cache, materials_cache)
            self.version += 1
        if draw_list.update_matrices(scene):
            self.version += 1
        # pyglm 2.8's stubs match mat4 * mat4 to their mat4x2 overload, which comes first
        view_proj: glm.mat4 = (
            scene.camera.proj_data.proj_matrix * scene.camera.view_data.view_matrix  # type: ignore[assignment]
        )
        assert self.instances is not None, "made by create"
        if scene.batches or self.instances.draws:
            planes = frustum_planes(view_proj) if cull else None
            if self.instances.prepare(ctx, scene, models_cache, materials_cache, frame, planes):
                self.version += 1
        if draw_list.update_order(view_proj, cull, self.version):
            self.version += 1
        return self.version

    def record(self, cmd: Any, image_index: int, frame: int) -> None:
        """Records the scene pass (book: RenderScn.render) with prebuilt cdata."""
        lib = vk.lib
        structs = self.structs
        assert structs is not None, "made by create"
        handoffs = self.handoffs
        if handoffs is not None:
            handoffs.begin(cmd, frame)
        structs.depth_barriers[image_index].record(cmd)
        lib.vkCmdBeginRendering(cmd, structs.rendering_infos[image_index])
        graphics = vk.VK_PIPELINE_BIND_POINT_GRAPHICS
        opaque, blend, *depth = self.pipelines
        lib.vkCmdBindPipeline(cmd, graphics, (depth or [opaque])[0].pipeline)
        lib.vkCmdSetViewport(cmd, 0, 1, structs.viewport)
        lib.vkCmdSetScissor(cmd, 0, 1, structs.scissor)
        layout = opaque.layout  # both pipelines' layouts are identical, hence compatible
        lib.vkCmdBindDescriptorSets(
            cmd,
            vk.VK_PIPELINE_BIND_POINT_GRAPHICS,
            layout,
            0,
            3,
            self.desc_sets[frame],
            0,
            vk.ffi.NULL,
        )
        items = self.draw_list.visible_items
        first_blended = next((i for i, item in enumerate(items) if item.transparent), len(items))
        inst_opaque, inst_blend, *inst_depth = self.inst_pipelines
        assert self.instances is not None, "made by create"
        if depth:  # the pre-pass: the front faces' depth, then the book's opaque draws
            record_items(cmd, layout, items[:first_blended], handoffs)
            self.instances.record(cmd, inst_depth[0], frame, transparent=False)
            lib.vkCmdBindPipeline(cmd, graphics, opaque.pipeline)
        record_items(cmd, layout, items[:first_blended], handoffs)
        self.instances.record(cmd, inst_opaque, frame, transparent=False)
        lib.vkCmdBindPipeline(cmd, graphics, blend.pipeline)
        record_items(cmd, layout, items[first_blended:], handoffs)
        self.instances.record(cmd, inst_blend, frame, transparent=True)
        lib.vkCmdEndRendering(cmd)

    def resize(self, ctx: VkCtx, target: Target) -> None:
        self._cleanup_depth(ctx)
        self._create_depth(ctx, target)

    def _cleanup_depth(self, ctx: VkCtx) -> None:
        attachments, self.depth_attachments = self.depth_attachments, []
        for attachment in attachments:  # emptied first: never destroyed twice
            attachment.cleanup(ctx)

    @property
    def draw_count(self) -> int:
        """Draw calls a frame records: one per visible mesh, one per mesh of each batch."""
        return len(self.draw_list.visible_items) + (
            self.instances.draw_count if self.instances else 0
        )

    def cleanup(self, ctx: VkCtx) -> None:
        """Destroys what exists, in reverse order of creation; safe after a failed create."""
        self._cleanup_depth(ctx)
        for pipeline in self.pipelines + self.inst_pipelines:
            pipeline.cleanup(ctx)
        if self.instances is not None:
            self.instances.cleanup(ctx)
        if self.handoffs is not None:
            self.handoffs.cleanup(ctx)
        for buffer in self.cam_buffers:
            buffer.cleanup(ctx)
        for layout in self.layouts:
            layout.cleanup(ctx)
        if self.sampler is not None:
            self.sampler.cleanup(ctx)
        self.pipelines, self.cam_buffers, self.layouts, self.sampler = [], [], [], None
        self.inst_pipelines, self.instances, self.handoffs = [], None, None
