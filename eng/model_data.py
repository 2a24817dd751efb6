"""Model, mesh and material descriptions in the book's format (Book ch.9/10: modelData.zig).

A model is `<name>.json` (meshes with byte ranges into `<name>.vtx` and `<name>.idx`) plus
`<name>-mat.json` (its materials). `.vtx` holds float32 position xyz + uv per vertex, `.idx`
holds uint32 triangle indices local to each mesh. Everything is validated here, before any of
it reaches the GPU; problems raise `ModelError` with a one-line message naming the file.

A scene file (not in the book, which hard-codes its scene in main.zig) lists models, the
entities that place them and the camera.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eng.com.safe_io import GEOMETRY_LIMIT, JSON_LIMIT, FileProblemError, parse_json, read_file
from eng.json_fields import (
    COORD_LIMIT,
    ModelError,
    check_unique,
    color_field,
    field,
    items_of,
    number_field,
    size_field,
    vec3_field,
)

log = logging.getLogger("eng.model")

VTX_FLOATS = 5  # position xyz + uv
VTX_BYTES = VTX_FLOATS * 4
IDX_BYTES = 4
SCALE_RANGE = (1e-6, 1e6)  # an entity's scale; with COORD_LIMIT no float32 math overflows


@dataclass(frozen=True, slots=True)
class MaterialData:
    """Book: MaterialData. `texture_path` is None for untextured materials."""

    id: str
    texture_path: Path | None
    color: tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class MeshData:
    """Book: MeshData. Offsets and sizes are in bytes into the model's .idx / .vtx files."""

    id: str
    material_id: str
    idx_offset: int
    idx_size: int
    vtx_offset: int
    vtx_size: int


@dataclass(frozen=True, slots=True)
class ModelData:
    """Book: ModelData, with its file names resolved; `path` is the model json it came from."""

    id: str
    meshes: list[MeshData]
    vtx_path: Path
    idx_path: Path
    path: Path | None = None

    @property
    def source(self) -> Path:
        """The file to name in messages about this model."""
        return self.path or self.vtx_path


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


# --- small checked accessors for parsed JSON ------------------------------------------------


def read_json(path: Path) -> Any:
    """A model, material or scene file parsed and checked (`eng.com.safe_io.parse_json`)."""
    try:
        return parse_json(read_file(path, JSON_LIMIT, "a JSON file"))
    except FileProblemError as e:
        raise ModelError(path, str(e)) from None


def resolve_path(base_dir: Path, name: str) -> Path:
    """A path written in a model file, resolved against the model's folder.

    The book writes paths relative to its working directory (".\\res\\models\\cube/cube.idx"):
    the path is tried relative to `base_dir`, else the file name alone inside `base_dir`.
    """
    rel = Path(name.replace("\\", "/"))
    full = base_dir / rel
    return full if full.is_file() else base_dir / rel.name


# --- models and materials -----------------------------------------------------------------


def materials_path_for(model_json_path: Path | str) -> Path:
    """The materials file beside a model file: `<stem>-mat.json`."""
    path = Path(model_json_path)
    return path.with_name(f"{path.stem}-mat.json")


def load_model(path: Path | str) -> ModelData:
    """Load a model file (Book: loadModel). The .vtx/.idx files must exist."""
    path = Path(path)
    log.debug("Loading model from [%s]", path)
    doc = read_json(path)
    model_id = field(path, doc, "id", str, "the model")
    meshes = []
    for i, item in enumerate(items_of(path, doc, "meshes")):
        what = f"mesh {i}"
        mesh_id = field(path, item, "id", str, what)
        what = f"mesh '{mesh_id}'"
        meshes.append(
            MeshData(
                id=mesh_id,
                material_id=field(path, item, "materialId", str, what),
                idx_offset=size_field(path, item, "idxOffset", what),
                idx_size=size_field(path, item, "idxSize", what),
                vtx_offset=size_field(path, item, "vtxOffset", what),
                vtx_size=size_field(path, item, "vtxSize", what),
            )
        )
    check_unique(path, [m.id for m in meshes], "mesh")
    files = []
    for key in ("vtxFilename", "idxFilename"):
        file = resolve_path(path.parent, field(path, doc, key, str, "the model"))
        if not file.exists():  # one that is not a regular file is refused when read
            raise ModelError(path, f"{key} {file} not found")
        files.append(file)
    return ModelData(id=model_id, meshes=meshes, vtx_path=files[0], idx_path=files[1], path=path)


def load_materials(path: Path | str) -> list[MaterialData]:
    """Load a materials file (Book: loadMaterials). Texture files need not exist."""
    path = Path(path)
    log.debug("Loading materials from [%s]", path)
    materials = []
    for i, item in enumerate(items_of(path, read_json(path), None)):
        mat_id = field(path, item, "id", str, f"material {i}")
        what = f"material '{mat_id}'"
        texture = field(path, item, "texturePath", str, what)
        materials.append(
            MaterialData(
                id=mat_id,
                texture_path=resolve_path(path.parent, texture) if texture else None,
                color=color_field(path, item, "color", what),
            )
        )
    check_unique(path, [m.id for m in materials], "material")
    return materials


def check_materials(model: ModelData, materials: list[MaterialData]) -> None:
    """Every material a mesh uses must be in `materials`."""
    known = {m.id for m in materials}
    for mesh in model.meshes:
        if mesh.material_id not in known:
            raise ModelError(
                model.source,
                f"mesh '{mesh.id}' uses material '{mesh.material_id}', "
                f"which is not in its materials ({len(materials)} materials)",
            )


def _read_array(path: Path, dtype: str, item_bytes: int) -> np.ndarray:
    try:
        data = read_file(path, GEOMETRY_LIMIT, "a geometry file")
    except FileProblemError as e:
        raise ModelError(path, str(e)) from None
    if len(data) % item_bytes:
        raise ModelError(path, f"size {len(data)} bytes is not a multiple of {item_bytes}")
    return np.frombuffer(data, dtype=dtype)


def load_geometry(model: ModelData) -> tuple[np.ndarray, np.ndarray]:
    """Read a model's .vtx and .idx files whole and check every mesh against them.

    Returns the vertices as float32 (N, 5) and the indices as uint32 (M,), both read-only
    views of the files' bytes (indices are local to each mesh).
    Book: ModelsCache.init reads them per mesh.
    """
    vtx = _read_array(model.vtx_path, "<f4", VTX_BYTES)
    idx = _read_array(model.idx_path, "<u4", IDX_BYTES)
    src = model.source
    for mesh in model.meshes:
        for kind, offset, size, unit, file, file_size in (
            ("vtx", mesh.vtx_offset, mesh.vtx_size, VTX_BYTES, model.vtx_path, vtx.nbytes),
            ("idx", mesh.idx_offset, mesh.idx_size, IDX_BYTES, model.idx_path, idx.nbytes),
        ):
            for key, value in ((f"{kind}Offset", offset), (f"{kind}Size", size)):
                if value % unit:
                    raise ModelError(
                        src, f"mesh '{mesh.id}' {key} ({value}) is not a multiple of {unit}"
                    )
            if offset + size > file_size:
                raise ModelError(
                    src,
                    f"mesh '{mesh.id}' {kind}Offset+{kind}Size ({offset + size}) is past the end"
                    f" of {file.name} ({file_size} bytes)",
                )
        if mesh.idx_size % (3 * IDX_BYTES):
            count = mesh.idx_size // IDX_BYTES
            raise ModelError(src, f"mesh '{mesh.id}' has {count} indices, not a multiple of 3")
    if model.meshes:
        # All indices of all meshes at once, each against its own mesh's vertex count.
        starts = np.array([m.idx_offset // IDX_BYTES for m in model.meshes])
        counts = np.array([m.idx_size // IDX_BYTES for m in model.meshes])
        limits = np.array([m.vtx_size // VTX_BYTES for m in model.meshes])
        used = np.concatenate([idx[s : s + c] for s, c in zip(starts, counts, strict=True)])
        bad = np.flatnonzero(used >= np.repeat(limits, counts))
        if bad.size:
            k = int(np.searchsorted(np.cumsum(counts), bad[0], side="right"))
            mesh = model.meshes[k]
            raise ModelError(
                src,
                f"mesh '{mesh.id}' index {int(used[bad[0]])} is out of range "
                f"(the mesh has {limits[k]} vertices) in {model.idx_path.name}",
            )
    vertices = vtx.reshape(-1, VTX_FLOATS)
    # NaN, infinity or beyond COORD_LIMIT (the comparison is False for NaN): bit rot, or
    # not a .vtx file at all
    bad_rows = np.flatnonzero(~(np.abs(vertices) <= COORD_LIMIT).all(axis=1))
    if bad_rows.size:
        raise ModelError(
            model.vtx_path,
            f"vertex {int(bad_rows[0])} has a value that is not a finite number within "
            f"+-{COORD_LIMIT:g} ({bad_rows.size} such vertices)",
        )
    return vertices, idx


# --- scenes -------------------------------------------------------------------------------


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
