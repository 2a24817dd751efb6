"""The writer of the book's model format (Book ch.9: modelGen.zig's output): `<name>.json`,
`<name>.vtx`, `<name>.idx` and `<name>-mat.json`, the check of what was written (loaded as the
engine loads it) and the all-or-nothing placing of it. Used by the converter
(eng/model_gen.py), the conversion cache and scripts/make_default_scene.py."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eng.com.interrupts import interrupts_deferred
from eng.com.safe_io import make_temp_dir
from eng.geometry_files import load_geometry
from eng.model_data import (
    MaterialData,
    check_materials,
    load_materials,
    load_model,
    materials_path_for,
)


@dataclass(frozen=True, slots=True)
class MeshArrays:
    """One mesh to write: float32 (N, 5) vertices (xyz + uv) and uint32 local indices."""

    id: str
    material_id: str
    vertices: np.ndarray
    indices: np.ndarray


def _dump_json(path: Path, doc: object) -> None:
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def write_model(
    output_dir: Path,
    name: str,
    meshes: list[MeshArrays],
    materials: list[MaterialData],
    texture_dir: Path | None = None,
) -> Path:
    """Write a model in the book's format; returns the path of `<name>.json`.

    Texture paths are written relative to `texture_dir` (default: `output_dir`), the folder
    the model will be read from.
    """
    vtx_path, idx_path = output_dir / f"{name}.vtx", output_dir / f"{name}.idx"
    items, vtx_offset, idx_offset = [], 0, 0
    with vtx_path.open("wb") as vtx_file, idx_path.open("wb") as idx_file:
        for mesh in meshes:
            vtx = np.ascontiguousarray(mesh.vertices, dtype="<f4").reshape(-1, 5).tobytes()
            idx = np.ascontiguousarray(mesh.indices, dtype="<u4").reshape(-1).tobytes()
            vtx_file.write(vtx)
            idx_file.write(idx)
            items.append(
                {
                    "id": mesh.id,
                    "materialId": mesh.material_id,
                    "idxOffset": idx_offset,
                    "idxSize": len(idx),
                    "vtxOffset": vtx_offset,
                    "vtxSize": len(vtx),
                }
            )
            idx_offset += len(idx)
            vtx_offset += len(vtx)
    model_path = output_dir / f"{name}.json"
    _dump_json(
        model_path,
        {
            "id": name,
            "meshes": {"items": items, "capacity": len(items)},
            "idxFilename": idx_path.name,
            "vtxFilename": vtx_path.name,
        },
    )
    mat_items = [
        {
            "id": m.id,
            "texturePath": m.texture_path.relative_to(texture_dir or output_dir).as_posix()
            if m.texture_path
            else "",
            "color": list(m.color),
        }
        for m in materials
    ]
    _dump_json(materials_path_for(model_path), {"items": mat_items, "capacity": len(mat_items)})
    return model_path


def load_written(model_path: Path) -> None:
    """Loads a written model as the engine does (model, materials, .vtx and .idx with every
    check); ModelError says what the engine would refuse."""
    model = load_model(model_path)
    check_materials(model, load_materials(materials_path_for(model_path)))
    load_geometry(model)


def place_model(staging: Path, output_dir: Path, names: list[str]) -> None:
    """Renames the files `names` from `staging` into `output_dir`, all of them or none, the
    model's .json (the last name) last. Files of the same names are moved aside first, the
    .json first, so that a reader finds the old model whole or no model until the new one is
    whole; if a rename fails they are put back. Ctrl-C waits until either is done."""
    aside = make_temp_dir(output_dir, "model_gen-old")  # kept if putting back failed
    moved: list[str] = []
    placed: list[str] = []
    with interrupts_deferred():
        try:
            for name in [names[-1], *names[:-1]]:
                if os.path.lexists(output_dir / name):
                    os.rename(output_dir / name, aside / name)
                    moved.append(name)
            for name in names:
                os.rename(staging / name, output_dir / name)
                placed.append(name)
        except BaseException:
            try:
                for name in reversed(placed):
                    os.rename(output_dir / name, staging / name)
                for name in reversed(moved):
                    os.rename(aside / name, output_dir / name)
            except OSError as e:  # the old files stay where they are, and the message says so
                raise OSError(e.errno, f"{e.strerror}; the old files are in {aside}") from None
            aside.rmdir()
            raise
    shutil.rmtree(aside)
