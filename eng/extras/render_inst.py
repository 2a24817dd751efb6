"""The instanced draw path (not in the book): instance batches (eng/extras/instances.py) drawn
with one indirect draw per mesh of each batch's model, after the book's draws of each kind.

Per frame slot there is a storage buffer of model matrices (set 3 of the instanced pipelines)
and a buffer of VkDrawIndexedIndirectCommand, both persistently mapped. Each frame the visible
instances of every batch are found with numpy (eng/extras/culling.py) and their matrices copied into
the frame's buffer in one go; the draws' instance counts are written into the indirect
commands. The command buffer itself is recorded again only when the batches change, not when
the instances move or the camera turns.
"""

import struct
from pathlib import Path
from typing import Any

import numpy as np
import vulkan as vk

from eng.com.common import FRAMES_IN_FLIGHT
from eng.com.interrupts import teardown
from eng.com.paths import SHADERS_DIR
from eng.extras.culling import Culling, instance_boxes, new_boxes, visible
from eng.extras.instances import InstanceBatch
from eng.hooks import Extra, PassFrame, PipelineSpec
from eng.models_cache import (
    DEFAULT_MATERIAL_ID,
    MaterialsCache,
    ModelsCache,
    VulkanMesh,
    VulkanModel,
)
from eng.render_scn import FRAGMENT, VERTEX, RenderScn
from eng.vk.buf import VkBuffer
from eng.vk.ctx import VkCtx
from eng.vk.desc import VkDescSetLayout
from eng.vk.pipe import VkPipeline
from eng.vk.record import bind_geometry
from eng.vk.util import MATRIX_SIZE, create_host_visible_buff
from eng.vk.vma import VmaFlags
from eng.vk.vma import ffi as vma_ffi

DESC_ID_INSTANCES = "SCN_DESC_ID_INSTANCES"
INSTANCED_VTX = "scn_inst_vtx"  # scn_vtx.glsl compiled with -DINSTANCED
INSTANCED_SHADERS = ((INSTANCED_VTX, VERTEX), ("scn_frg", FRAGMENT))
INDIRECT_STRIDE = 20  # VkDrawIndexedIndirectCommand: 5 x 32 bits
_COUNT = 1  # the instanceCount column of an indirect command


class _Draw:
    """One mesh of one batch: a row of the indirect buffers."""

    def __init__(
        self,
        row: int,
        batch: int,
        model: VulkanModel,
        mesh: VulkanMesh,
        material_index: int,
        transparent: bool,
    ) -> None:
        assert model.vtx_buffer is not None and model.idx_buffer is not None, "uploaded"
        self.row = row
        self.batch = batch
        self.vtx_buffer = vk.ffi.new("VkBuffer[1]", [model.vtx_buffer.buffer])
        self.idx_buffer = model.idx_buffer.buffer
        self.mesh = mesh
        self.transparent = transparent
        self.push = vk.ffi.new("char[4]", struct.pack("<I", material_index))


class Instancing(Extra):
    """The instance batches a game adds (`add_batch`), drawn by pipelines of their own whose
    vertex shader reads the model matrix from set 3; with `culling`, only the instances inside
    its frustum, and with `depth_prepass`, their depth first too (eng/extras/depth_prepass.py)."""

    def __init__(self, culling: Culling | None = None, depth_prepass: bool = False) -> None:
        self.culling = culling
        self.depth_prepass = depth_prepass
        self.batches: dict[str, InstanceBatch] = {}
        self.layout: VkDescSetLayout | None = None
        self.matrix_buffers: list[VkBuffer] = []
        self.indirect_buffers: list[VkBuffer] = []
        self.desc_sets: list = []
        self.draws: list[_Draw] = []
        self.capacity = 0  # instances the matrix buffers hold
        self.key: tuple = ()
        self.visible_counts: list[int] = []  # per batch, in the last frame prepared
        self._batches: list = []
        self._box_versions: list = []  # per batch: the version its boxes were moved for
        self._local_boxes: list[tuple[np.ndarray, np.ndarray]] = []  # per batch: (low, high)
        self._boxes = new_boxes(0)  # every instance's world box, batch after batch
        self._written: list = [None] * FRAMES_IN_FLIGHT  # what each frame slot holds
        self._bases = np.zeros(1, np.int64)  # per batch: its first row in the matrix buffers
        self._matrices: list[np.ndarray] = []
        self._commands: list[np.ndarray] = []

    def add_batch(self, batch: InstanceBatch) -> None:
        self.batches[batch.id] = batch

    def create(self, ctx: VkCtx) -> None:
        self.layout = VkDescSetLayout.create(
            ctx,
            0,
            vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            vk.VK_SHADER_STAGE_VERTEX_BIT,
            1,
            "instance matrices",
        )

    def shader_files(self) -> dict[str, Path]:
        return {INSTANCED_VTX: SHADERS_DIR / f"{INSTANCED_VTX}.spv"}

    def pipeline_specs(self) -> list[PipelineSpec]:
        assert self.layout is not None, "made by create"
        layouts = (self.layout,)
        specs = [
            PipelineSpec("instanced opaque", INSTANCED_SHADERS, layouts),
            PipelineSpec("instanced blend", INSTANCED_SHADERS, layouts, blend=True),
        ]
        if self.depth_prepass:
            vertex_only = INSTANCED_SHADERS[:1]
            specs.append(
                PipelineSpec(
                    "instanced depth", vertex_only, layouts, color_write=False, cull_back=True
                )
            )
        return specs

    def draw_count(self) -> int:
        return len(self.draws)

    def prepare(self, scn: RenderScn, pass_frame: PassFrame) -> bool:
        """Brings the frame slot's matrices and indirect commands up to date (only the
        instances inside the culling's frustum, with culling). True when the recorded draws
        must change."""
        if not self.batches and not self.draws:
            return False
        models_cache, frame = pass_frame.models, pass_frame.frame
        batches = [b for b in self.batches.values() if b.model_id in models_cache.models]
        key = tuple((b.id, b.model_id, b.count) for b in batches)
        changed = key != self.key
        if changed:
            self._rebuild(pass_frame.ctx, batches, models_cache, pass_frame.materials)
            self.key = key
        planes = self.culling.planes if self.culling is not None else None
        versions = tuple(b.version for b in batches)
        written = (versions, None if planes is None else planes.tobytes())
        if self._written[frame] != written:
            self._write(frame, planes)
            for buffer in (self.matrix_buffers[frame], self.indirect_buffers[frame]):
                buffer.flush(pass_frame.ctx)  # the CPU wrote them (and _rebuild, before)
            self._written[frame] = written
        return changed

    def _rebuild(
        self,
        ctx: VkCtx,
        batches: list[InstanceBatch],
        models_cache: ModelsCache,
        materials_cache: MaterialsCache,
    ) -> None:
        default = materials_cache.materials[DEFAULT_MATERIAL_ID]
        self._batches = batches
        self._box_versions = [None] * len(batches)
        self._local_boxes = []  # the model's bounds, for instance_boxes
        for batch in batches:
            low, high = models_cache.models[batch.model_id].bounds
            self._local_boxes.append((np.array(low, np.float32), np.array(high, np.float32)))
        self._boxes = new_boxes(sum(b.count for b in batches))
        self.draws = []
        for i, batch in enumerate(batches):
            model = models_cache.models[batch.model_id]
            for mesh in model.meshes:
                material = materials_cache.materials.get(mesh.material_id, default)
                self.draws.append(
                    _Draw(len(self.draws), i, model, mesh, material.index, material.transparent)
                )
        capacity = max(1, sum(b.count for b in batches))
        if capacity > self.capacity or len(self.draws) * INDIRECT_STRIDE > self._indirect_size():
            ctx.device.wait()  # the buffers may be in use by frames in flight
            self._create_buffers(ctx, capacity, max(1, len(self.draws)))
        base = np.cumsum([0] + [b.count for b in batches])
        for commands in self._commands:
            for draw in self.draws:
                mesh = draw.mesh
                commands[draw.row] = (
                    mesh.index_count,
                    0,
                    mesh.first_index,
                    mesh.vertex_offset,
                    base[draw.batch],
                )
        self._bases = base
        self._written = [None] * FRAMES_IN_FLIGHT

    def _indirect_size(self) -> int:
        return self.indirect_buffers[0].size if self.indirect_buffers else 0

    def _create_buffers(self, ctx: VkCtx, capacity: int, draws: int) -> None:
        self._cleanup_buffers(ctx)
        first = not self.desc_sets
        for frame in range(FRAMES_IN_FLIGHT):
            name = f"{DESC_ID_INSTANCES}{frame}"
            usage = vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT
            if first:
                assert self.layout is not None, "made by create"
                buffer = create_host_visible_buff(
                    ctx, name, capacity * MATRIX_SIZE, usage, self.layout
                )
                self.desc_sets.append(ctx.desc_allocator.get_desc_set(name))
            else:  # the descriptor sets stay; they point at the new buffers
                buffer = VkBuffer.create(
                    ctx,
                    capacity * MATRIX_SIZE,
                    usage,
                    VmaFlags.HOST_ACCESS_SEQUENTIAL_WRITE | VmaFlags.MAPPED,
                    name=name,
                )
                self.desc_sets[frame].set_buffer(
                    ctx, buffer, 0, vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                )
            self.matrix_buffers.append(buffer)
            indirect = VkBuffer.create(
                ctx,
                draws * INDIRECT_STRIDE,
                vk.VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT,
                VmaFlags.HOST_ACCESS_SEQUENTIAL_WRITE | VmaFlags.MAPPED,
                name=f"instanced draws {frame}",
            )
            self.indirect_buffers.append(indirect)
            self._matrices.append(_mapped_array(buffer, np.float32, 16))
            self._commands.append(_mapped_array(indirect, np.uint32, 5))
        self.capacity = capacity
        self._desc_arrays = [vk.ffi.new("VkDescriptorSet[1]", [s.desc_set]) for s in self.desc_sets]

    def _write(self, frame: int, planes: np.ndarray | None) -> None:
        """The visible instances' matrices, batch after batch, and the draws' counts. The
        boxes of all batches are tested in one call: per call, numpy's overhead is about
        that of testing a few thousand boxes."""
        matrices, commands = self._matrices[frame], self._commands[frame]
        bases = self._bases
        shown = None
        if planes is not None:
            for i, batch in enumerate(self._batches):
                if self._box_versions[i] != batch.version:
                    part = self._boxes[:, bases[i] : bases[i + 1]]
                    instance_boxes(*self._local_boxes[i], batch.columns, part)
                    self._box_versions[i] = batch.version
            shown = np.flatnonzero(visible(planes, self._boxes))
            ends = np.searchsorted(shown, bases)
        counts = []
        for i, batch in enumerate(self._batches):
            flat = batch.columns.reshape(-1, 16)
            base = bases[i]
            if shown is None:
                matrices[base : base + batch.count] = flat
                counts.append(batch.count)
                continue
            mine = shown[ends[i] : ends[i + 1]] - base
            np.take(flat, mine, axis=0, out=matrices[base : base + len(mine)])
            counts.append(len(mine))
        for draw in self.draws:
            commands[draw.row, _COUNT] = counts[draw.batch]
        self.visible_counts = counts

    def before_draws(self, cmd: Any, scn: RenderScn, frame: int) -> None:
        if self.depth_prepass:
            self._record(cmd, scn.pipelines["instanced depth"], frame, transparent=False)

    def after_draws(self, cmd: Any, scn: RenderScn, frame: int, transparent: bool) -> None:
        name = "instanced blend" if transparent else "instanced opaque"
        self._record(cmd, scn.pipelines[name], frame, transparent)

    def _record(self, cmd: Any, pipeline: VkPipeline, frame: int, transparent: bool) -> None:
        """The draws of one kind (opaque or transparent); sets 0-2 are bound already."""
        draws = [d for d in self.draws if d.transparent == transparent]
        if not draws:
            return
        lib = vk.lib
        graphics = vk.VK_PIPELINE_BIND_POINT_GRAPHICS
        lib.vkCmdBindPipeline(cmd, graphics, pipeline.pipeline)
        lib.vkCmdBindDescriptorSets(
            cmd, graphics, pipeline.layout, 3, 1, self._desc_arrays[frame], 0, vk.ffi.NULL
        )
        indirect = self.indirect_buffers[frame].buffer
        stages = vk.VK_SHADER_STAGE_VERTEX_BIT | vk.VK_SHADER_STAGE_FRAGMENT_BIT
        bound = None
        for draw in draws:
            if draw.vtx_buffer is not bound:
                bind_geometry(cmd, draw.vtx_buffer, draw.idx_buffer)
                bound = draw.vtx_buffer
            lib.vkCmdPushConstants(cmd, pipeline.layout, stages, MATRIX_SIZE, 4, draw.push)
            offset = draw.row * INDIRECT_STRIDE
            lib.vkCmdDrawIndexedIndirect(cmd, indirect, offset, 1, INDIRECT_STRIDE)

    @teardown
    def _cleanup_buffers(self, ctx: VkCtx) -> None:
        buffers = self.matrix_buffers + self.indirect_buffers
        self.matrix_buffers, self.indirect_buffers = [], []
        self._matrices, self._commands = [], []
        for buffer in buffers:
            buffer.cleanup(ctx)

    @teardown
    def cleanup(self, ctx: VkCtx) -> None:
        self._cleanup_buffers(ctx)
        if self.layout is not None:
            self.layout.cleanup(ctx)
            self.layout = None


def _mapped_array(buffer: VkBuffer, dtype: Any, columns: int) -> np.ndarray:
    """A numpy view of a persistently mapped buffer, `columns` values a row."""
    raw = vma_ffi.buffer(buffer.mapped_data, buffer.size)
    return np.frombuffer(raw, dtype).reshape(-1, columns)
