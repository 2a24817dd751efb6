"""Book ch.10 (modelsCache.zig): models and materials uploaded to device-local buffers.

Each model's whole .vtx and .idx go into one vertex and one index buffer (the book makes a pair
per mesh); a mesh is then a range of indices plus a vertex offset. The materials become one
storage buffer of 32-byte records, the book's default material first.
"""

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import vulkan as vk
from pyglm import glm

from eng.com.interrupts import teardown
from eng.geometry_files import load_geometry
from eng.model_data import IDX_BYTES, VTX_BYTES, MaterialData, ModelData
from eng.texture_cache import TextureCache
from eng.vk.buf import VkBuffer, record_copy, staging_flags
from eng.vk.ctx import VkCtx
from eng.vk.errors import cleanup_on_error
from eng.vk.vma import VmaMemoryFlags, VmaUsage

log = logging.getLogger("eng.models")

DEFAULT_MATERIAL_ID = "DEFAULT_MATERIAL_ID"
MATERIAL_RECORD = np.dtype(
    [
        ("diffuse_color", "<f4", 4),
        ("has_texture", "<u4"),
        ("texture_idx", "<u4"),
        ("padding", "<u4", 2),
    ]
)


def staged_upload(
    ctx: VkCtx, cmd: Any, data: Any, usage: int, name: str, staging: list
) -> VkBuffer:
    """A device-local buffer filled by `cmd` from a staging buffer, which goes into `staging`
    as it is made (the caller frees those once the commands have run, or on any error)."""
    data = np.ascontiguousarray(data).data.cast("B")
    staging.append(
        VkBuffer.create(
            ctx,
            data.nbytes,
            vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
            staging_flags(data.nbytes),
            VmaUsage.AUTO,
            VmaMemoryFlags.HOST_VISIBLE_AND_COHERENT,
            name=f"staging {name}",
        )
    )
    staging[-1].write(ctx, data)
    usage |= vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT
    with cleanup_on_error(VkBuffer.create(ctx, data.nbytes, usage, name=name), ctx) as buffer:
        record_copy(cmd, staging[-1], buffer)
        return buffer


@dataclass(frozen=True, slots=True)
class VulkanMesh:
    id: str
    material_id: str
    first_index: int
    index_count: int
    vertex_offset: int
    bounds_min: tuple[float, float, float]  # box around the mesh's vertices (model space)
    bounds_max: tuple[float, float, float]


@dataclass
class VulkanModel:
    id: str
    meshes: list[VulkanMesh]
    bounds: tuple[glm.vec3, glm.vec3]  # axis-aligned box of the vertex positions
    vtx_buffer: VkBuffer | None = None  # None until uploaded
    idx_buffer: VkBuffer | None = None

    @teardown
    def cleanup(self, ctx: VkCtx) -> None:
        for buffer in (self.vtx_buffer, self.idx_buffer):
            if buffer is not None:
                buffer.cleanup(ctx)


class ModelsCache:
    def __init__(self) -> None:
        self.models: dict[str, VulkanModel] = {}

    def record_uploads(self, ctx: VkCtx, cmd: Any, models: list[ModelData], staging: list) -> None:
        """Records the uploads of `models` into `cmd`; staging buffers are added to `staging`
        (freed by the caller once the commands have run, even if this raises)."""
        for model in models:
            vertices, indices = load_geometry(model)
            positions = vertices[:, :3]
            meshes = []
            for m in model.meshes:
                first_vertex = m.vtx_offset // VTX_BYTES
                mesh_positions = positions[first_vertex : first_vertex + m.vtx_size // VTX_BYTES]
                if len(mesh_positions) == 0:
                    mesh_positions = np.zeros((1, 3), np.float32)
                meshes.append(
                    VulkanMesh(
                        m.id,
                        m.material_id,
                        m.idx_offset // IDX_BYTES,
                        m.idx_size // IDX_BYTES,
                        first_vertex,
                        tuple(mesh_positions.min(axis=0).tolist()),
                        tuple(mesh_positions.max(axis=0).tolist()),
                    )
                )
            bounds = (glm.vec3(*positions.min(axis=0)), glm.vec3(*positions.max(axis=0)))
            # in the cache before its buffers exist, so that cleanup() finds each one made
            uploaded = self.models[model.id] = VulkanModel(model.id, meshes, bounds)
            uploaded.vtx_buffer = staged_upload(
                ctx,
                cmd,
                vertices,
                vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                f"{model.id} vertices",
                staging,
            )
            uploaded.idx_buffer = staged_upload(
                ctx,
                cmd,
                indices,
                vk.VK_BUFFER_USAGE_INDEX_BUFFER_BIT,
                f"{model.id} indices",
                staging,
            )
            log.debug("model %s: %d meshes, %d vertices", model.id, len(meshes), len(vertices))

    @teardown
    def cleanup(self, ctx: VkCtx) -> None:
        for model in self.models.values():
            model.cleanup(ctx)
        self.models.clear()


@dataclass(frozen=True, slots=True)
class VulkanMaterial:
    id: str
    index: int
    transparent: bool


class MaterialsCache:
    def __init__(self) -> None:
        self.materials: dict[str, VulkanMaterial] = {}
        self.materials_buffer: VkBuffer | None = None

    def record_upload(
        self,
        ctx: VkCtx,
        cmd: Any,
        texture_cache: TextureCache,
        materials: list[MaterialData],
        staging: list,
    ) -> None:
        """Loads the materials' textures and records the upload of the material records."""
        default = MaterialData(DEFAULT_MATERIAL_ID, None, (1.0, 1.0, 1.0, 1.0))
        all_materials = [default, *materials]
        loaded = texture_cache.add_textures_from_paths(
            ctx, [m.texture_path for m in all_materials if m.texture_path is not None]
        )
        records = np.zeros(len(all_materials), MATERIAL_RECORD)
        for i, material in enumerate(all_materials):
            records[i]["diffuse_color"] = material.color
            transparent = material.color[3] < 1.0
            if material.texture_path in loaded:
                texture_id = str(material.texture_path)
                records[i]["has_texture"] = 1
                records[i]["texture_idx"] = texture_cache.index_of(texture_id)
                transparent = transparent or texture_cache.textures[texture_id].transparent
            self.materials[material.id] = VulkanMaterial(material.id, i, transparent)
        self.materials_buffer = staged_upload(
            ctx, cmd, records, vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, "materials", staging
        )
        log.debug("%d materials", len(all_materials))

    @teardown
    def cleanup(self, ctx: VkCtx) -> None:
        if self.materials_buffer is not None:
            self.materials_buffer.cleanup(ctx)
            self.materials_buffer = None
        self.materials.clear()
