"""Converter from glTF / GLB / OBJ+MTL to the book's model format (Book ch.9: modelGen.zig).

    python -m eng.model_gen INPUT OUTPUT_DIR [--name NAME] [--force]

Writes `<name>.json`, `<name>.vtx`, `<name>.idx` and `<name>-mat.json` into OUTPUT_DIR, plus the
base colour textures: the files the model names and the images embedded in it, as they are.
The result is loaded as the engine loads it before anything is placed, so what the engine
would refuse (indices out of range, no triangle at all, ...) is an error, as is a glTF whose
nodes are not trees. A texture the engine could not use (missing, not a regular file, outside
the model's folder, empty, not an image Pillow decodes, a decompression bomb, a broken data
URI, ...) is left out: one warning line names it and why, its material keeps its colour, the
final line says how many were dropped, and the exit status stays 0 - the engine itself renders
a material whose texture it cannot use in its colour. Errors end with one line and status 1,
Ctrl-C with status 130.

Everything is written into a temporary folder inside OUTPUT_DIR first and then renamed into
place, all files or none (the model's .json last, so that a reader finds the old model or the
new one, whole); a failure or Ctrl-C changes nothing. Files already there are replaced only
with `--force`, and never the input's own files nor a texture that another model uses (the
new texture takes another name); other files are left as they are. Unlike the book's
converter, node transforms are applied, and every geometry of the scene (every glTF primitive)
becomes one mesh. UVs are stored as the book's shaders sample them (glTF convention, v = 0 at
the top of the image).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import sys
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from tqdm import tqdm

from eng.com.safe_io import make_temp_dir, remove_stale_temps
from eng.json_fields import COORD_LIMIT, ModelError
from eng.model_data import MaterialData, load_materials
from eng.model_sources import (
    ConvertError,
    Fingerprint,
    InputFiles,
    for_trimesh,
    gltf_json,
    material_index,
)
from eng.model_textures import (
    OutputTextures,
    TextureSource,
    check_decodes,
    gltf_textures,
    mtl_textures,
)
from eng.model_write import MeshArrays, load_written, place_model, write_model

log = logging.getLogger("eng.model")


@dataclass(frozen=True, slots=True)
class ConvertSummary:
    model_path: Path
    meshes: int
    vertices: int
    triangles: int
    materials: int
    textures: int
    dropped: int  # textures left out, each with a warning
    output_bytes: int
    inputs: dict[str, Fingerprint]  # every file read (InputFiles)

    def __str__(self) -> str:
        return (
            f"{self.model_path}: {self.meshes} meshes, {self.vertices} vertices, "
            f"{self.triangles} triangles, {self.materials} materials, {self.textures} textures "
            f"({self.dropped} dropped), {self.output_bytes} bytes"
        )


def check_name(name: str) -> str:
    """A model name is a file stem inside OUTPUT_DIR: no folders, no hidden or empty names."""
    if not name or name.startswith(".") or any(c in name for c in "/\\\0") or name != name.strip():
        raise ConvertError(name, "not a usable model name (a plain file name, without / or \\)")
    return name


def _material_parts(visual: object) -> tuple[object, np.ndarray | None, object]:
    """A key for sharing, the base colour (uint8 RGBA or None) and the trimesh material of a
    mesh's visual."""
    material = getattr(visual, "material", None)
    if isinstance(material, trimesh.visual.material.PBRMaterial):
        return id(material), material.baseColorFactor, material
    if isinstance(material, trimesh.visual.material.SimpleMaterial):
        return id(material), material.diffuse, material
    if isinstance(visual, trimesh.visual.ColorVisuals) and visual.kind is not None:
        color = visual.main_color
        return tuple(color), color, None
    return "default", None, None


def _mesh_arrays(mesh: trimesh.Trimesh, transform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vertices = np.zeros((len(mesh.vertices), 5), dtype=np.float64)
    vertices[:, :3] = trimesh.transformations.transform_points(mesh.vertices, transform)
    uv = getattr(mesh.visual, "uv", None)
    if uv is not None and len(uv) == len(mesh.vertices):
        vertices[:, 3] = uv[:, 0]
        vertices[:, 4] = 1.0 - uv[:, 1]  # trimesh flips v to OpenGL's convention on load
    if not (np.abs(vertices) <= COORD_LIMIT).all():  # False for NaN too; before the float32 cast
        raise ValueError(f"a vertex value is not a finite number within +-{COORD_LIMIT:g}")
    vertices = vertices.astype(np.float32)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    if faces.size and not 0 <= np.min(faces) <= np.max(faces) <= np.iinfo(np.uint32).max:
        raise ValueError("an index is negative or does not fit 32 bits")
    if np.linalg.det(transform[:3, :3]) < 0:  # a mirroring transform turns triangles over
        faces = faces[:, ::-1]
    return vertices, faces.reshape(-1).astype(np.uint32)


def _load_scene(
    input_path: Path, data: bytes, files: InputFiles, gltf: dict[str, Any] | None
) -> list[tuple[str, np.ndarray, trimesh.Trimesh]]:
    """Every triangle mesh of the input's scene with its node and transform."""
    if gltf is not None:
        data = for_trimesh(input_path, data, gltf)
    try:
        scene = trimesh.load(
            io.BytesIO(data),
            file_type=input_path.suffix.lower().lstrip("."),
            force="scene",
            process=False,
            resolver=files,
        )
        assert isinstance(scene, trimesh.Scene), "force='scene' makes one"
        placed = []
        for node in scene.graph.nodes_geometry:
            transform, geometry = scene.graph[node]
            if isinstance(scene.geometry[geometry], trimesh.Trimesh):
                placed.append((node, transform, scene.geometry[geometry]))
    except Exception as e:
        log.debug("trimesh failed", exc_info=True)
        raise ConvertError(input_path, f"cannot read it ({type(e).__name__}: {e})") from e
    return placed


def convert(
    input_path: Path | str, output_dir: Path | str, name: str | None = None, force: bool = False
) -> ConvertSummary:
    """Convert a glTF / GLB / OBJ file into the book's format inside `output_dir`.

    Refuses to replace files already there unless `force`, and the input's own files always.
    """
    input_path, output_dir = Path(input_path), Path(output_dir)
    name = check_name(name or input_path.stem)
    if output_dir.exists() and not output_dir.is_dir():
        raise ConvertError(output_dir, "output folder is a file")
    outputs = [output_dir / f"{name}{s}" for s in (".json", ".vtx", ".idx", "-mat.json")]
    _check_outputs(outputs, [input_path], force)
    # on a terminal, a bar says which stage a long conversion is in (tqdm: off elsewhere)
    progress = tqdm(desc=f"{name}: reading {input_path.name}", unit="mesh", disable=None)
    with progress:
        return _convert_scene(input_path, output_dir, name, outputs, progress, force)


def _convert_scene(
    input_path: Path, output_dir: Path, name: str, outputs: list[Path], progress: tqdm, force: bool
) -> ConvertSummary:
    files = InputFiles(input_path)
    data = files.read_input()
    gltf = gltf_json(input_path, data)
    placed = _load_scene(input_path, data, files, gltf[0] if gltf else None)
    if not placed:
        raise ConvertError(input_path, "no triangle geometry in it")
    sources: dict[Any, TextureSource] = {}
    if gltf is not None:
        sources = gltf_textures(input_path, gltf[0], files, gltf[1])
    elif input_path.suffix.lower() == ".obj":
        sources, problem = mtl_textures(data, files)
        if problem:
            log.warning("%s; its materials and their textures are left out", problem)

    found: dict[object, tuple[int, tuple[float, float, float, float], TextureSource | None]] = {}
    meshes: list[MeshArrays] = []
    progress.reset(total=len(placed))
    progress.set_description(f"{name}: meshes")
    for node, transform, mesh in placed:
        key, color, material = _material_parts(mesh.visual)
        if key not in found:
            r, g, b, a = (255, 255, 255, 255) if color is None else (float(c) for c in color)
            name_of = getattr(material, "name", None)
            source = sources.get(material_index(name_of) if gltf else name_of)
            found[key] = (len(found), (r / 255, g / 255, b / 255, a / 255), source)
        try:
            vertices, indices = _mesh_arrays(mesh, transform)
        except ValueError as e:
            raise ConvertError(input_path, f"node '{node}': {e}") from None
        material_id = f"{name}-mat-{found[key][0]}"
        meshes.append(MeshArrays(f"mesh-{len(meshes)}", material_id, vertices, indices))
        log.info("mesh %s (%s): %d vertices, %d triangles", meshes[-1].id, node,
                 len(vertices), len(indices) // 3)  # fmt: skip
        progress.update()

    progress.set_description(f"{name}: textures")
    textures, materials, dropped = _materials(output_dir, name, outputs, force, found.values())
    progress.set_description(f"{name}: writing")
    written = [*textures.targets.values(), *outputs[1:], outputs[0]]  # the .json last
    kept = textures.unchanged()
    _check_outputs(written, [input_path, *files.paths.values()], force, kept)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(output_dir, "model_gen")
        staging = make_temp_dir(output_dir, "model_gen")
        try:
            textures.write(staging)
            write_model(staging, name, meshes, materials, output_dir)
            try:
                load_written(staging / outputs[0].name)
            except ModelError as e:
                raise ConvertError(input_path, f"the result would not load: {e.problem}") from None
            place_model(staging, output_dir, [p.name for p in written if p not in kept])
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as e:
        raise ConvertError(output_dir, f"cannot write there ({e.strerror or e})") from None
    return ConvertSummary(
        model_path=outputs[0],
        meshes=len(meshes),
        vertices=sum(len(m.vertices) for m in meshes),
        triangles=sum(len(m.indices) // 3 for m in meshes),
        materials=len(materials),
        textures=len(textures.targets),
        dropped=dropped,
        output_bytes=sum(p.stat().st_size for p in written),
        inputs=files.fingerprints,
    )


def _materials(
    output_dir: Path,
    name: str,
    outputs: list[Path],
    force: bool,
    found: Collection[tuple[int, tuple[float, float, float, float], TextureSource | None]],
) -> tuple[OutputTextures, list[MaterialData], int]:
    """The materials, with the textures that decode as the engine decodes them; one warning
    for each texture left out, which is counted."""
    used = list(dict.fromkeys(s for _, _, s in found if s is not None))
    check_decodes(used)
    dropped = [s for s in used if s.problem]
    for source in dropped:
        log.warning("texture %s: %s; its material keeps its colour", source.label, source.problem)
    avoid = {p.name for p in outputs}
    if force and output_dir.is_dir():  # another model's texture is never replaced
        avoid |= {p.name for p in output_dir.iterdir()} - _own_textures(output_dir, name)
    textures = OutputTextures(output_dir, name, avoid)
    materials = [
        MaterialData(f"{name}-mat-{i}", textures.add(s) if s and not s.problem else None, rgba)
        for i, rgba, s in found
    ]
    return textures, materials, len(dropped)


def _own_textures(output_dir: Path, name: str) -> set[str]:
    """The textures in `output_dir` that the model `name` there uses: --force replaces them."""
    try:
        materials = load_materials(output_dir / f"{name}-mat.json")
    except ModelError:
        return set()
    paths = [m.texture_path for m in materials if m.texture_path is not None]
    return {p.name for p in paths if p.parent == output_dir}


def _check_outputs(
    outputs: list[Path], inputs: list[Path], force: bool, kept: Collection[Path] = ()
) -> None:
    """Outputs may replace existing files only with `force`, and never an input file nor a
    folder or other non-file; `kept` are outputs that already are the input's own file and are
    left as they are."""
    clashes = []
    for path in outputs:
        if not os.path.lexists(path) or path in kept:
            continue
        if path.exists() and any(i.exists() and path.samefile(i) for i in inputs):
            raise ConvertError(
                path, "the output would overwrite the input; choose another --name or folder"
            )
        if path.exists() and not path.is_file():
            raise ConvertError(path, "is there and not a file; the converter replaces files only")
        clashes.append(path)
    if clashes and not force:
        names = ", ".join(p.name for p in clashes)
        raise ConvertError(clashes[0].parent, f"{names} already there; --force replaces them")


class _LineFormat(logging.Formatter):
    """`model_gen: MESSAGE`, and `model_gen: warning: MESSAGE` for a warning."""

    def format(self, record: logging.LogRecord) -> str:
        level = f"{record.levelname.lower()}: " if record.levelno >= logging.WARNING else ""
        return f"model_gen: {level}{record.getMessage()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eng.model_gen",
        description="Convert a glTF (.gltf/.glb) or OBJ model into the book's model format.",
    )
    parser.add_argument("input", type=Path, metavar="INPUT", help="the .gltf, .glb or .obj file")
    parser.add_argument(
        "output_dir", type=Path, metavar="OUTPUT_DIR", help="folder for the converted files"
    )
    parser.add_argument("--name", help="model name and file stem (default: the input's stem)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the model's files in OUTPUT_DIR (never another model's texture)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="a line per mesh, texture and stage"
    )
    parser.add_argument("--debug", action="store_true", help="debug logging and tracebacks")
    args = parser.parse_args(argv)

    handler = logging.StreamHandler()
    handler.setFormatter(_LineFormat())
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING)
    try:
        summary = convert(args.input, args.output_dir, args.name, args.force)
    except KeyboardInterrupt:
        print("model_gen: interrupted (no model half-written)", file=sys.stderr)
        return 130
    except MemoryError:
        if args.debug:
            raise
        print("model_gen: error: out of memory", file=sys.stderr)
        return 1
    except (ConvertError, OSError) as e:
        if args.debug:
            raise
        print(f"model_gen: error: {e}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
