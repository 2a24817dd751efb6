"""Scene files: the models, the entities that place them and the camera (not in the book,
whose main.zig hard-codes its scene; the models and materials are the book's, eng/model_data.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from eng.json_fields import (
    COORD_LIMIT,
    ModelError,
    check_unique,
    field,
    number_field,
    read_json,
    vec3_field,
)
from eng.model_data import (
    MaterialData,
    ModelData,
    check_materials,
    load_materials,
    load_model,
    materials_path_for,
)

log = logging.getLogger("eng.model")

SCALE_RANGE = (1e-6, 1e6)  # an entity's scale; with COORD_LIMIT no float32 math overflows


@dataclass(frozen=True, slots=True)
class EntityData:
    """An entity of a scene file: a model placed with a position, euler rotation and scale."""

    id: str
    model_id: str
    pos: tuple[float, float, float]
    rotation: tuple[float, float, float] = (0.0, 0.0, 0.0)  # degrees, about x, y, z
    scale: float = 1.0


@dataclass(frozen=True, slots=True)
class CameraData:
    """Initial camera of a scene file; yaw -90 degrees looks down -z (book: ViewData)."""

    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pitch: float = 0.0
    yaw: float = -90.0


@dataclass(frozen=True, slots=True)
class SceneData:
    """A scene file loaded: its models, all their materials, its entities and the camera."""

    models: list[ModelData]
    materials: list[MaterialData]
    entities: list[EntityData]
    camera: CameraData


def load_scene(path: Path | str) -> SceneData:
    """Load a scene file: {"models": [...], "entities": [...], "camera": {...}}.

    Model paths are relative to the scene file; each model's `-mat.json` is loaded with it.
    """
    path = Path(path)
    log.debug("Loading scene from [%s]", path)
    doc = read_json(path)
    models, materials = [], []
    for i, rel in enumerate(field(path, doc, "models", list, "the scene")):
        if not isinstance(rel, str):
            raise ModelError(path, f"models[{i}] is not a string: {rel!r}")
        model = load_model(path.parent / rel)
        model_materials = load_materials(materials_path_for(path.parent / rel))
        check_materials(model, model_materials)
        models.append(model)
        materials.extend(model_materials)
    check_unique(path, [m.id for m in models], "model")
    check_unique(path, [m.id for m in materials], "material")

    model_ids = {m.id for m in models}
    entities = []
    for i, item in enumerate(field(path, doc, "entities", list, "the scene")):
        entity_id = field(path, item, "id", str, f"entity {i}")
        what = f"entity '{entity_id}'"
        model_id = field(path, item, "model", str, what)
        if model_id not in model_ids:
            raise ModelError(path, f"{what} uses model '{model_id}', which is not in 'models'")
        scale = number_field(path, item, "scale", what, *SCALE_RANGE) if "scale" in item else 1.0
        rotation = vec3_field(path, item, "rotation", what) if "rotation" in item else None
        entities.append(
            EntityData(
                id=entity_id,
                model_id=model_id,
                pos=vec3_field(path, item, "pos", what),
                rotation=rotation or (0.0, 0.0, 0.0),
                scale=scale,
            )
        )
    check_unique(path, [e.id for e in entities], "entity")

    camera = CameraData()
    if "camera" in doc:
        cam = field(path, doc, "camera", dict, "the scene")
        camera = CameraData(
            pos=vec3_field(path, cam, "pos", "the camera"),
            pitch=number_field(path, cam, "pitch", "the camera", -COORD_LIMIT, COORD_LIMIT),
            yaw=number_field(path, cam, "yaw", "the camera", -COORD_LIMIT, COORD_LIMIT),
        )
    return SceneData(models=models, materials=materials, entities=entities, camera=camera)
