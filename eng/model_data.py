"""Model, mesh and material descriptions in the book's format (Book ch.9/10: modelData.zig).

A model is `<name>.json` (meshes with byte ranges into `<name>.vtx` and `<name>.idx`) plus
`<name>-mat.json` (its materials). `.vtx` holds float32 position xyz + uv per vertex, `.idx`
holds uint32 triangle indices local to each mesh. Fields are checked as they are read
(eng/json_fields.py), the .vtx/.idx files when loaded (eng/geometry_files.py); problems raise
`ModelError` with a one-line message naming the file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from eng.json_fields import (
    ModelError,
    check_unique,
    color_field,
    field,
    items_of,
    read_json,
    size_field,
)

log = logging.getLogger("eng.model")

VTX_FLOATS = 5  # position xyz + uv
VTX_BYTES = VTX_FLOATS * 4
IDX_BYTES = 4


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


def resolve_path(base_dir: Path, name: str) -> Path:
    """A path written in a model file, resolved against the model's folder.

    The book writes paths relative to its working directory (".\\res\\models\\cube/cube.idx"):
    the path is tried relative to `base_dir`, else the file name alone inside `base_dir`.
    """
    rel = Path(name.replace("\\", "/"))
    full = base_dir / rel
    return full if full.is_file() else base_dir / rel.name


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
