"""Book ch.10 (renderScn.zig, RenderScn.renderEntities' loops over entities and meshes): the
scene pass's draw list - one item per mesh of each entity, opaque meshes first, then
transparent ones - built when the entities change, with the push constants ready to send.
"""

import logging
import struct
from dataclasses import dataclass

import vulkan as vk

from eng.entity import Entity
from eng.models_cache import DEFAULT_MATERIAL_ID, MaterialsCache, ModelsCache
from eng.scene import Scene
from eng.vk.util import MATRIX_SIZE

log = logging.getLogger("eng.render")
PUSH_SIZE = MATRIX_SIZE + 4  # model matrix + material index
PUSH_STAGES = vk.VK_SHADER_STAGE_VERTEX_BIT | vk.VK_SHADER_STAGE_FRAGMENT_BIT


@dataclass(eq=False)  # items are told apart by identity
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
    version: int = -1  # the entity's version its matrix was copied at


class DrawList:
    """The draw items of a scene; `opaque` and `blended` are those the next recording draws
    (all of them, unless an extra such as culling picks fewer with `show`)."""

    def __init__(self) -> None:
        self.items: list[DrawItem] = []
        self.opaque: list[DrawItem] = []
        self.blended: list[DrawItem] = []
        self._key: tuple[tuple[str, str], ...] | None = None
        self._entity_versions: tuple[int, ...] | None = ()

    def update(
        self, scene: Scene, models_cache: ModelsCache, materials_cache: MaterialsCache
    ) -> bool:
        """Rebuilds the items if the scene's entities or their models changed, and copies the
        model matrices of entities that moved; True when either happened."""
        key = tuple((e.id, e.model_id) for e in scene.entities.values())
        rebuilt = key != self._key
        if rebuilt:
            self._build(scene, models_cache, materials_cache)
            self._key = key
            self._entity_versions = None  # the new items still need their model matrices
        versions = tuple(e.version for e in scene.entities.values())
        if versions == self._entity_versions:
            return rebuilt
        for item in self.items:
            if item.version != item.entity.version:
                vk.ffi.memmove(item.push, item.entity.model_matrix.to_bytes(), MATRIX_SIZE)
                item.version = item.entity.version
        self._entity_versions = versions
        return True

    def _build(
        self, scene: Scene, models_cache: ModelsCache, materials_cache: MaterialsCache
    ) -> None:
        """Opaque meshes first, then transparent ones (book: two passes over the entities)."""
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
        self.items = items
        self.show(items)

    def show(self, items: list[DrawItem]) -> bool:
        """Draw `items` (some of `self.items`, in their order) from the next recording on;
        True when that changes what is drawn."""
        opaque = [item for item in items if not item.transparent]
        blended = [item for item in items if item.transparent]
        if opaque == self.opaque and blended == self.blended:
            return False
        self.opaque, self.blended = opaque, blended
        return True
