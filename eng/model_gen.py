"""Converter from glTF / GLB / OBJ+MTL to the book's model format (Book ch.9: modelGen.zig).

    python -m eng.model_gen INPUT OUTPUT_DIR [--name NAME]

Writes `<name>.json`, `<name>.vtx`, `<name>.idx` and `<name>-mat.json` into OUTPUT_DIR, plus the
base colour textures: files the model references are copied, images embedded in it are written
as PNG. Unlike the book's converter, node transforms are applied, and every geometry of the
scene (every glTF primitive) becomes one mesh. UVs are stored as the book's shaders sample them
(glTF convention, v = 0 at the top of the image).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image
from tqdm import tqdm

from eng.model_data import MaterialData, materials_path_for

log = logging.getLogger("eng.model")


class ConvertError(Exception):
    """The input cannot be converted; str() is one line naming the file."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(" ".join(f"{path}: {problem}".split()))


@dataclass(frozen=True, slots=True)
class MeshArrays:
    """One mesh to write: float32 (N, 5) vertices (xyz + uv) and uint32 local indices."""

    id: str
    material_id: str
    vertices: np.ndarray
    indices: np.ndarray


@dataclass(frozen=True, slots=True)
class ConvertSummary:
    model_path: Path
    meshes: int
    vertices: int
    triangles: int
    materials: int
    textures: int
    output_bytes: int

    def __str__(self) -> str:
        return (
            f"{self.model_path}: {self.meshes} meshes, {self.vertices} vertices, "
            f"{self.triangles} triangles, {self.materials} materials, {self.textures} textures, "
            f"{self.output_bytes} bytes"
        )


def _dump_json(path: Path, doc: object) -> None:
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def write_model(
    output_dir: Path, name: str, meshes: list[MeshArrays], materials: list[MaterialData]
) -> Path:
    """Write a model in the book's format; returns the path of `<name>.json`.

    Texture files must already be inside `output_dir`; paths are written relative to it.
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
            "texturePath": m.texture_path.relative_to(output_dir).as_posix()
            if m.texture_path
            else "",
            "color": list(m.color),
        }
        for m in materials
    ]
    _dump_json(materials_path_for(model_path), {"items": mat_items, "capacity": len(mat_items)})
    return model_path


class _RecordingResolver(trimesh.resolvers.FilePathResolver):
    """Remembers which file each blob trimesh reads came from, to copy textures as they are."""

    def __init__(self, source: Path) -> None:
        super().__init__(str(source))
        self.files: dict[bytes, Path] = {}

    def get(self, name: str) -> bytes:
        data = super().get(name)
        self.files[data] = Path(self.parent) / name
        return data


class _Textures:
    """Base colour images of the input, written once each into the output folder."""

    def __init__(self, output_dir: Path, name: str, files: dict[bytes, Path]) -> None:
        self.output_dir, self.name, self.files = output_dir, name, files
        self.written: dict[int, Path] = {}

    def add(self, image: Image.Image) -> Path:
        if id(image) not in self.written:
            self.written[id(image)] = self._write(image)
        return self.written[id(image)]

    def _write(self, image: Image.Image) -> Path:
        fp = getattr(image, "fp", None)
        source = self.files.get(fp.getvalue()) if isinstance(fp, io.BytesIO) else None
        if source is not None:
            target = self._free_name(source.stem, source.suffix)
            if not (target.exists() and target.samefile(source)):
                shutil.copyfile(source, target)
        else:
            target = self._free_name(f"{self.name}-tex-{len(self.written)}", ".png")
            image.save(target, format="PNG")
        log.info("texture %s", target.name)
        return target

    def _free_name(self, stem: str, suffix: str) -> Path:
        taken = {p.name for p in self.written.values()}
        candidate, n = f"{stem}{suffix}", 1
        while candidate in taken:
            candidate, n = f"{stem}-{n}{suffix}", n + 1
        return self.output_dir / candidate


def _material_parts(visual: object) -> tuple[object, np.ndarray | None, Image.Image | None]:
    """A key for sharing, the base colour (uint8 RGBA or None) and image of a mesh's visual."""
    material = getattr(visual, "material", None)
    if isinstance(material, trimesh.visual.material.PBRMaterial):
        return id(material), material.baseColorFactor, material.baseColorTexture
    if isinstance(material, trimesh.visual.material.SimpleMaterial):
        return id(material), material.diffuse, material.image
    if isinstance(visual, trimesh.visual.ColorVisuals) and visual.kind is not None:
        color = visual.main_color
        return tuple(color), color, None
    return "default", None, None


def _mesh_arrays(mesh: trimesh.Trimesh, transform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vertices = np.zeros((len(mesh.vertices), 5), dtype=np.float32)
    vertices[:, :3] = trimesh.transformations.transform_points(mesh.vertices, transform)
    uv = getattr(mesh.visual, "uv", None)
    if uv is not None and len(uv) == len(mesh.vertices):
        vertices[:, 3] = uv[:, 0]
        vertices[:, 4] = 1.0 - uv[:, 1]  # trimesh flips v to OpenGL's convention on load
    faces = np.asarray(mesh.faces, dtype=np.uint32)
    if np.linalg.det(transform[:3, :3]) < 0:  # a mirroring transform turns triangles over
        faces = faces[:, ::-1]
    return vertices, faces.reshape(-1)


def _load_scene(input_path: Path) -> tuple[trimesh.Scene, dict[bytes, Path]]:
    if input_path.suffix.lower() == ".gltf":  # trimesh hides JSON errors behind odd ones
        try:
            json.loads(input_path.read_bytes())
        except ValueError as e:
            raise ConvertError(input_path, f"malformed glTF JSON ({e})") from None
    resolver = _RecordingResolver(input_path)
    try:
        scene = trimesh.load(str(input_path), force="scene", process=False, resolver=resolver)
    except Exception as e:
        log.debug("trimesh failed", exc_info=True)
        raise ConvertError(input_path, f"cannot read it ({type(e).__name__}: {e})") from e
    assert isinstance(scene, trimesh.Scene), "force='scene' makes one"
    return scene, resolver.files


def convert(
    input_path: Path | str, output_dir: Path | str, name: str | None = None
) -> ConvertSummary:
    """Convert a glTF / GLB / OBJ file into the book's format inside `output_dir`."""
    input_path, output_dir = Path(input_path), Path(output_dir)
    name = name or input_path.stem
    if not input_path.is_file():
        raise ConvertError(
            input_path, "file not found" if not input_path.exists() else "not a file"
        )
    if output_dir.exists() and not output_dir.is_dir():
        raise ConvertError(output_dir, "output folder is a file")
    outputs = [output_dir / f"{name}{s}" for s in (".json", ".vtx", ".idx", "-mat.json")]
    if any(p.exists() and p.samefile(input_path) for p in outputs):
        raise ConvertError(
            input_path, "the output would overwrite the input; choose another --name or folder"
        )
    # on a terminal, a bar says which stage a long conversion is in (tqdm: off elsewhere)
    progress = tqdm(desc=f"{name}: reading {input_path.name}", unit="mesh", disable=None)
    with progress:
        return _convert_scene(input_path, output_dir, name, outputs, progress)


def _convert_scene(
    input_path: Path, output_dir: Path, name: str, outputs: list[Path], progress: tqdm
) -> ConvertSummary:
    scene, files = _load_scene(input_path)
    nodes = [
        n
        for n in scene.graph.nodes_geometry
        if isinstance(scene.geometry[scene.graph[n][1]], trimesh.Trimesh)
    ]
    if not nodes:
        raise ConvertError(input_path, "no triangle geometry in it")
    output_dir.mkdir(parents=True, exist_ok=True)

    textures = _Textures(output_dir, name, files)
    materials: dict[object, MaterialData] = {}
    meshes: list[MeshArrays] = []
    progress.reset(total=len(nodes))
    progress.set_description(f"{name}: meshes")
    for node in nodes:
        transform, geometry_name = scene.graph[node]
        mesh = scene.geometry[geometry_name]
        key, color, image = _material_parts(mesh.visual)
        if key not in materials:
            r, g, b, a = (255, 255, 255, 255) if color is None else (float(c) for c in color)
            rgba = (r / 255, g / 255, b / 255, a / 255)
            texture = textures.add(image) if image is not None else None
            materials[key] = MaterialData(f"{name}-mat-{len(materials)}", texture, rgba)
        vertices, indices = _mesh_arrays(mesh, transform)
        meshes.append(MeshArrays(f"mesh-{len(meshes)}", materials[key].id, vertices, indices))
        log.info(
            "mesh %s (%s): %d vertices, %d triangles",
            meshes[-1].id,
            node,
            len(vertices),
            len(indices) // 3,
        )
        progress.update()

    progress.set_description(f"{name}: writing")
    model_path = write_model(output_dir, name, meshes, list(materials.values()))
    return ConvertSummary(
        model_path=model_path,
        meshes=len(meshes),
        vertices=sum(len(m.vertices) for m in meshes),
        triangles=sum(len(m.indices) // 3 for m in meshes),
        materials=len(materials),
        textures=len(textures.written),
        output_bytes=sum(p.stat().st_size for p in [*outputs, *textures.written.values()]),
    )


def convert_cached(input_path: Path | str, cache_root: Path | str) -> Path:
    """Convert into `cache_root/<sha256[:16]>/` unless already there; returns the model json.

    Only the input file itself is hashed (not the .bin / textures / .mtl it may reference).
    A conversion is written to a temporary folder and renamed, so the folder is complete.
    """
    input_path, cache_root = Path(input_path), Path(cache_root)
    if not input_path.is_file():
        raise ConvertError(input_path, "file not found")
    digest = hashlib.sha256(input_path.read_bytes()).hexdigest()[:16]
    target = cache_root / digest
    model_path = target / f"{input_path.stem}.json"
    if model_path.is_file() and materials_path_for(model_path).is_file():
        log.info("using cached conversion %s", model_path)
        return model_path
    cache_root.mkdir(parents=True, exist_ok=True)
    notice = f"converting {input_path} once, into the cache {target}"
    if sys.stderr.isatty():
        print(notice, file=sys.stderr)
    else:
        log.info(notice)
    tmp = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=cache_root))
    try:
        convert(input_path, tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return model_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="model_gen",
        description="Convert a glTF (.gltf/.glb) or OBJ model into the book's model format.",
    )
    parser.add_argument("input", type=Path, metavar="INPUT", help="the .gltf, .glb or .obj file")
    parser.add_argument(
        "output_dir", type=Path, metavar="OUTPUT_DIR", help="folder for the converted files"
    )
    parser.add_argument("--name", help="model name and file stem (default: the input's stem)")
    parser.add_argument("--debug", action="store_true", help="debug logging and tracebacks")
    args = parser.parse_args(argv)

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("model_gen: %(message)s"))
    log.addHandler(handler)
    # On a terminal the progress bar replaces the per-mesh lines.
    quiet = sys.stderr.isatty()
    log.setLevel(logging.DEBUG if args.debug else logging.WARNING if quiet else logging.INFO)
    try:
        summary = convert(args.input, args.output_dir, args.name)
    except (ConvertError, OSError) as e:
        if args.debug:
            raise
        print(f"model_gen: error: {e}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
