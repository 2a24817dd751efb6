"""Book ch.10 (renderScn.zig): the scene pass - depth attachments, camera buffers, descriptor
sets, the pipeline, and the draw loop.

The draw loop calls the `vulkan` package's `lib` functions with cdata built beforehand (at
create, resize or when the scene changes), so a frame allocates nothing per mesh.
"""

import logging
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import vulkan as vk
from pyglm import glm

from eng.attachment import Attachment
from eng.com.common import FRAMES_IN_FLIGHT
from eng.culling import frustum_planes, matrix_rows, visible, world_boxes
from eng.entity import Entity
from eng.models_cache import DEFAULT_MATERIAL_ID, MaterialsCache, ModelsCache
from eng.offscreen import OffscreenTarget
from eng.render_inst import RenderInstances
from eng.scene import Scene
from eng.shader_watch import SHADERS, STAGES
from eng.texture_cache import TextureCache
from eng.vk.buf import VkBuffer
from eng.vk.ctx import VkCtx
from eng.vk.desc import VkDescSetLayout
from eng.vk.pipe import VkPipeline, VkPipelineCreateInfo, VkShaderModule, VtxBuffDesc
from eng.vk.swap import VkSwapChain
from eng.vk.texture import VkTextSampler, VkTextSamplerInfo
from eng.vk.util import (
    MATRIX_SIZE,
    ImageBarrier,
    bind_geometry,
    cleanup_on_error,
    create_host_visible_buff,
)
from eng.vk.vma import ffi as vma_ffi

Target = OffscreenTarget | VkSwapChain  # what the scene is drawn into

log = logging.getLogger("eng.render")
COMMITTED_SHADERS = [
    (SHADERS / f"{name}.spv", stage) for name, _, stage in STAGES
]  # the SPIR-V of eng/res/shaders/
INSTANCED_VTX = SHADERS / "scn_inst_vtx.spv"  # the vertex shader of the instanced path
DEPTH_FORMAT = vk.VK_FORMAT_D16_UNORM
DESC_ID_CAM = "SCN_DESC_ID_CAM"
DESC_ID_MAT = "SCN_DESC_ID_MAT"
DESC_ID_TEXTS = "SCN_DESC_ID_TEXTS"
PUSH_SIZE = MATRIX_SIZE + 4  # model matrix + material index
PUSH_STAGES = vk.VK_SHADER_STAGE_VERTEX_BIT | vk.VK_SHADER_STAGE_FRAGMENT_BIT
VTX_DESC = VtxBuffDesc(
    stride=20,
    attributes=((0, vk.VK_FORMAT_R32G32B32_SFLOAT, 0), (1, vk.VK_FORMAT_R32G32_SFLOAT, 12)),
)


@dataclass
class DrawItem:
    """One mesh of one entity, with its push constants ready to send."""

    entity: Entity
    vtx_buffer: object  # VkBuffer[1] cdata for vkCmdBindVertexBuffers
    idx_buffer: object
    first_index: int
    index_count: int
    vertex_offset: int
    push: object  # char[PUSH_SIZE] cdata
    transparent: bool
    bounds_min: tuple[float, float, float]
    bounds_max: tuple[float, float, float]
    version: int = -1


class RenderScn:
    def __init__(self) -> None:
        self.image_flags = 0  # the VMA flags of the depth attachments, from create
        self.depth_prepass = False  # opaque meshes drawn depth-only first (not in the book)
        self.texture_count = 0
        self.depth_attachments: list[Attachment] = []
        self.cam_buffers: list[VkBuffer] = []
        self.layouts: list[VkDescSetLayout] = []  # camera, materials, textures (sets 0-2)
        self.pipelines: list[VkPipeline] = []  # opaque, blend (and depth, with a pre-pass)
        self.instances: RenderInstances | None = None  # instance batches (not in the book)
        self.inst_pipelines: list[VkPipeline] = []  # opaque, blend, for the instances
        self.sampler: VkTextSampler | None = None
        self.draw_items: list[DrawItem] = []
        self.visible_items: list[DrawItem] = []  # what the next recording draws, in order
        self._draw_key: tuple[tuple[str, str], ...] | None = None
        self._entity_versions: tuple[int, ...] | None = ()
        self.version = 0
        self._culled_version = -1
        self._view_proj: glm.mat4 | None = None
        self._order: tuple[int, ...] | None = None
        # bounds of the draw items, local (per mesh) and in the world (per entity's matrix)
        self._local_min = self._local_max = np.zeros((0, 3), np.float32)
        self._centers = self._extents = np.zeros((0, 3), np.float32)
        self._keep: list[Any] = []  # cdata the prebuilt structs point into
        # per target image, from _build_frame_structs; per frame slot, from init
        self.rendering_infos: list[Any] = []
        self.depth_barriers: list[ImageBarrier] = []
        self.viewport: Any = None
        self.scissor: Any = None
        self.desc_sets: list[Any] = []

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
        with `depth_prepass`, opaque meshes are drawn twice: depth only, then shaded with an
        EQUAL depth test, so each pixel is shaded once (not in the book; docs/performance.md);
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
        pipelines.extend(
            self._create_pipelines(ctx, color_format, shader_stages, self.layouts, "scene")
        )
        instanced_stages = [
            (INSTANCED_VTX if stage == vk.VK_SHADER_STAGE_VERTEX_BIT else path, stage)
            for path, stage in shader_stages
        ]
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
        pre-pass, a third draws depth alone and the opaque one tests EQUAL, writing no depth."""
        modules, pipelines = [], []
        try:
            for path, stage in shader_stages:
                modules.append(VkShaderModule.create(ctx, path, stage))
            prepass = self.depth_prepass and name == "scene"
            kinds = ["opaque", "blend"] + (["depth"] if prepass else [])
            vertex_only = [m for m in modules if m.stage == vk.VK_SHADER_STAGE_VERTEX_BIT]
            for kind in kinds:
                shade_kept = prepass and kind == "opaque"  # only what the pre-pass kept
                info = VkPipelineCreateInfo(
                    color_format=color_format,
                    depth_format=DEPTH_FORMAT,
                    desc_set_layouts=layouts,
                    modules=vertex_only if kind == "depth" else modules,
                    push_constants=[(PUSH_STAGES, 0, PUSH_SIZE)],
                    vtx_buff_desc=VTX_DESC,
                    use_blend=kind == "blend",
                    spec_constants={0: self.texture_count},
                    depth_compare=vk.VK_COMPARE_OP_EQUAL
                    if shade_kept
                    else vk.VK_COMPARE_OP_LESS_OR_EQUAL,
                    depth_write=not shade_kept,
                    color_write=kind != "depth",
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
        self._build_frame_structs(target)

    def _build_frame_structs(self, target: Target) -> None:
        """Barriers, rendering infos, viewport and scissor for each target image."""
        ffi = vk.ffi
        keep = []
        extent = target.extent
        self.rendering_infos = []
        self.depth_barriers = []
        for i, depth in enumerate(self.depth_attachments):
            assert depth.image is not None and depth.view is not None, "made by create"
            color_att = ffi.new(
                "VkRenderingAttachmentInfo*",
                {
                    "sType": vk.VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO,
                    "imageView": target.image_views[i].view,
                    "imageLayout": vk.VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
                    "loadOp": vk.VK_ATTACHMENT_LOAD_OP_CLEAR,
                    "storeOp": vk.VK_ATTACHMENT_STORE_OP_STORE,
                    "clearValue": {"color": {"float32": [0.0, 0.0, 0.0, 1.0]}},
                },
            )
            depth_att = ffi.new(
                "VkRenderingAttachmentInfo*",
                {
                    "sType": vk.VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO,
                    "imageView": depth.view.view,
                    "imageLayout": vk.VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_OPTIMAL,
                    "loadOp": vk.VK_ATTACHMENT_LOAD_OP_CLEAR,
                    "storeOp": vk.VK_ATTACHMENT_STORE_OP_DONT_CARE,
                    "clearValue": {"depthStencil": {"depth": 1.0, "stencil": 0}},
                },
            )
            info = ffi.new(
                "VkRenderingInfo*",
                {
                    "sType": vk.VK_STRUCTURE_TYPE_RENDERING_INFO,
                    "renderArea": {
                        "offset": {"x": 0, "y": 0},
                        "extent": {"width": extent.width, "height": extent.height},
                    },
                    "layerCount": 1,
                    "colorAttachmentCount": 1,
                    "pColorAttachments": color_att,
                    "pDepthAttachment": depth_att,
                },
            )
            barrier = ImageBarrier(
                depth.image.image,
                vk.VK_IMAGE_LAYOUT_UNDEFINED,
                vk.VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_OPTIMAL,
                vk.VK_PIPELINE_STAGE_2_EARLY_FRAGMENT_TESTS_BIT
                | vk.VK_PIPELINE_STAGE_2_LATE_FRAGMENT_TESTS_BIT,
                vk.VK_ACCESS_2_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT,
                vk.VK_PIPELINE_STAGE_2_EARLY_FRAGMENT_TESTS_BIT
                | vk.VK_PIPELINE_STAGE_2_LATE_FRAGMENT_TESTS_BIT,
                vk.VK_ACCESS_2_DEPTH_STENCIL_ATTACHMENT_READ_BIT
                | vk.VK_ACCESS_2_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT,
                vk.VK_IMAGE_ASPECT_DEPTH_BIT,
            )
            keep += [color_att, depth_att]
            self.rendering_infos.append(info)
            self.depth_barriers.append(barrier)
        # the book flips y with a negative viewport height, so +y is up as in OpenGL
        self.viewport = ffi.new(
            "VkViewport*",
            {
                "x": 0.0,
                "y": float(extent.height),
                "width": float(extent.width),
                "height": -float(extent.height),
                "minDepth": 0.0,
                "maxDepth": 1.0,
            },
        )
        self.scissor = ffi.new(
            "VkRect2D*", {"extent": {"width": extent.width, "height": extent.height}}
        )
        self._keep = keep

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

    def build_draw_items(
        self, scene: Scene, models_cache: ModelsCache, materials_cache: MaterialsCache
    ) -> None:
        """The draw list: opaque meshes first, then transparent ones (book: two passes)."""
        items = []
        default = materials_cache.materials[DEFAULT_MATERIAL_ID]
        for transparent in (False, True):
            for entity in scene.entities.values():
                model = models_cache.models.get(entity.model_id)
                if model is None:
                    if not transparent:  # once per entity and draw list, as the book warns
                        log.warning("entity %s: model %s is not loaded", entity.id, entity.model_id)
                    continue
                assert model.vtx_buffer is not None and model.idx_buffer is not None, "uploaded"
                vtx = vk.ffi.new("VkBuffer[1]", [model.vtx_buffer.buffer])
                for mesh in model.meshes:
                    material = materials_cache.materials.get(mesh.material_id, default)
                    if material.transparent != transparent:
                        continue
                    push = vk.ffi.new(f"char[{PUSH_SIZE}]")
                    push[MATRIX_SIZE:PUSH_SIZE] = struct.pack("<I", material.index)
                    items.append(
                        DrawItem(
                            entity,
                            vtx,
                            model.idx_buffer.buffer,
                            mesh.first_index,
                            mesh.index_count,
                            mesh.vertex_offset,
                            push,
                            transparent,
                            mesh.bounds_min,
                            mesh.bounds_max,
                        )
                    )
        self.draw_items = items
        self._draw_key = _scene_key(scene)
        self._entity_versions = None  # the new items still need their model matrices
        self._local_min = np.array([i.bounds_min for i in items], np.float32).reshape(-1, 3)
        self._local_max = np.array([i.bounds_max for i in items], np.float32).reshape(-1, 3)
        self._order = None
        self._view_proj = None  # the camera the order was computed for

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
        if self._draw_key != _scene_key(scene):
            self.build_draw_items(scene, models_cache, materials_cache)
            self.version += 1
        versions = tuple(e.version for e in scene.entities.values())
        if versions != self._entity_versions:
            for item in self.draw_items:
                if item.version != item.entity.version:
                    vk.ffi.memmove(item.push, item.entity.model_matrix.to_bytes(), MATRIX_SIZE)
                    item.version = item.entity.version
            matrices = np.array([matrix_rows(i.entity.model_matrix) for i in self.draw_items])
            self._centers, self._extents = world_boxes(
                self._local_min, self._local_max, matrices.reshape(-1, 4, 4)
            )
            self._entity_versions = versions
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
        if cull:
            if view_proj != self._view_proj or self.version != self._culled_version:
                order = self._draw_order(view_proj)
                self._view_proj = view_proj
                self._culled_version = self.version
            else:
                assert self._order is not None, "computed with this camera and version"
                order = self._order
        else:
            order = tuple(range(len(self.draw_items)))
        if order != self._order:
            self._order = order
            self.visible_items = [self.draw_items[i] for i in order]
            self.version += 1
        return self.version

    def _draw_order(self, view_proj: glm.mat4) -> tuple[int, ...]:
        """The meshes inside the view frustum, in the draw list's order. (Drawing opaque
        meshes nearest first was measured too: 5% slower on lavapipe, no gain on an H100.)"""
        shown = visible(frustum_planes(view_proj), self._centers, self._extents)
        return tuple(np.flatnonzero(shown).tolist())

    def record(self, cmd: Any, image_index: int, frame: int) -> None:
        """Records the scene pass (book: RenderScn.render) with prebuilt cdata."""
        lib = vk.lib
        self.depth_barriers[image_index].record(cmd)
        lib.vkCmdBeginRendering(cmd, self.rendering_infos[image_index])
        graphics = vk.VK_PIPELINE_BIND_POINT_GRAPHICS
        opaque, blend, *depth = self.pipelines
        lib.vkCmdBindPipeline(cmd, graphics, (depth or [opaque])[0].pipeline)
        lib.vkCmdSetViewport(cmd, 0, 1, self.viewport)
        lib.vkCmdSetScissor(cmd, 0, 1, self.scissor)
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
        items = self.visible_items
        first_blended = next((i for i, item in enumerate(items) if item.transparent), len(items))
        inst_opaque, inst_blend = self.inst_pipelines
        if depth:  # the pre-pass: depth only, then shade what it left visible
            _record_items(cmd, layout, items[:first_blended])
            lib.vkCmdBindPipeline(cmd, graphics, opaque.pipeline)
        _record_items(cmd, layout, items[:first_blended])
        assert self.instances is not None, "made by create"
        self.instances.record(cmd, inst_opaque, frame, transparent=False)
        lib.vkCmdBindPipeline(cmd, graphics, blend.pipeline)
        _record_items(cmd, layout, items[first_blended:])
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
        return len(self.visible_items) + (self.instances.draw_count if self.instances else 0)

    def cleanup(self, ctx: VkCtx) -> None:
        """Destroys what exists, in reverse order of creation; safe after a failed create."""
        self._cleanup_depth(ctx)
        for pipeline in self.pipelines + self.inst_pipelines:
            pipeline.cleanup(ctx)
        if self.instances is not None:
            self.instances.cleanup(ctx)
        for buffer in self.cam_buffers:
            buffer.cleanup(ctx)
        for layout in self.layouts:
            layout.cleanup(ctx)
        if self.sampler is not None:
            self.sampler.cleanup(ctx)
        self.pipelines, self.cam_buffers, self.layouts, self.sampler = [], [], [], None
        self.inst_pipelines, self.instances = [], None


def _record_items(cmd: Any, layout: Any, items: list[DrawItem]) -> None:
    """The book's per-draw loop: push the model matrix and material, draw the mesh."""
    lib = vk.lib
    bound = None
    for item in items:
        if item.vtx_buffer is not bound:
            bind_geometry(cmd, item.vtx_buffer, item.idx_buffer)
            bound = item.vtx_buffer
        lib.vkCmdPushConstants(cmd, layout, PUSH_STAGES, 0, PUSH_SIZE, item.push)
        lib.vkCmdDrawIndexed(cmd, item.index_count, 1, item.first_index, item.vertex_offset, 0)


def _scene_key(scene: Scene) -> tuple[tuple[str, str], ...]:
    return tuple((e.id, e.model_id) for e in scene.entities.values())
