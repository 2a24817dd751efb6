"""Converter from glTF / GLB / OBJ+MTL to the book's model format (Book ch.9: modelGen.zig).

    python -m eng.model_gen INPUT OUTPUT_DIR [--name NAME] [--force]

Writes `<name>.json`, `<name>.vtx`, `<name>.idx` and `<name>-mat.json` into OUTPUT_DIR, plus the
base colour textures: files the model references are copied, images embedded in it are written
as PNG. Everything is written into a temporary folder inside OUTPUT_DIR first and renamed into
place at the end, so a failure or Ctrl-C changes nothing; files already there are replaced only
with `--force`, and never the input's own files. Unlike the book's converter, node transforms
are applied, and every geometry of the scene (every glTF primitive) becomes one mesh. UVs are
stored as the book's shaders sample them (glTF convention, v = 0 at the top of the image).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import struct
import sys
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image
from tqdm import tqdm

from eng.com.safe_io import (
    MODEL_INPUT_LIMIT,
    FileProblemError,
    make_temp_dir,
    parse_json,
    read_file,
    remove_stale_temps,
)
from eng.json_fields import COORD_LIMIT, ModelError
from eng.model_data import MaterialData
from eng.model_write import MeshArrays, write_model

log = logging.getLogger("eng.model")


class ConvertError(ModelError):
    """The input cannot be converted; str() is one line naming the file."""


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


def read_input(path: Path) -> bytes:
    """An input file's bytes: regular files only, at most MODEL_INPUT_LIMIT."""
    try:
        return read_file(path, MODEL_INPUT_LIMIT, "a model file")
    except FileProblemError as e:
        raise ConvertError(path, str(e)) from None


def check_name(name: str) -> str:
    """A model name is a file stem inside OUTPUT_DIR: no folders, no hidden or empty names."""
    if not name or name.startswith(".") or any(c in name for c in "/\\\0") or name != name.strip():
        raise ConvertError(name, "not a usable model name (a plain file name, without / or \\)")
    return name


class _RecordingResolver(trimesh.resolvers.FilePathResolver):
    """Remembers which file each blob trimesh reads came from, to copy textures as they are."""

    def __init__(self, source: Path) -> None:
        super().__init__(str(source))
        self.files: dict[bytes, Path] = {}

    def get(self, name: str) -> bytes:
        """As trimesh's, but regular files only and bounded (a FIFO would hang trimesh)."""
        for candidate in (name.strip(), os.path.split(name)[-1]):
            try:
                path = self.absolute(candidate)
            except ValueError:  # outside the model's folder
                continue
            if path.exists():
                data = read_file(path, MODEL_INPUT_LIMIT, "a model file")
                self.files[data] = path
                return data
        raise FileNotFoundError(name)


class _Textures:
    """Base colour images of the input, one output file each: the bytes of a file the model
    references (copied as they are), or an embedded image as PNG."""

    def __init__(self, output_dir: Path, name: str, files: dict[bytes, Path]) -> None:
        self.output_dir, self.name, self.files = output_dir, name, files
        self.written: dict[int, Path] = {}  # id(image) -> path in output_dir
        self.contents: dict[Path, tuple[bytes | Image.Image, Path | None]] = {}

    def add(self, image: Image.Image) -> Path:
        if id(image) not in self.written:
            fp = getattr(image, "fp", None)
            data = fp.getvalue() if isinstance(fp, io.BytesIO) else None
            source = self.files.get(data) if data is not None else None
            if source is not None:
                assert data is not None  # a file the model names, read by the resolver
                target = self._free_name(source.stem, source.suffix)
                self.contents[target] = (data, source)
            else:
                target = self._free_name(f"{self.name}-tex-{len(self.written)}", ".png")
                self.contents[target] = (image, None)
            self.written[id(image)] = target
        return self.written[id(image)]

    def unchanged(self) -> set[Path]:
        """Outputs that already are the file the model references (converting a model into
        its own folder): they are left as they are."""
        return {
            target
            for target, (_, source) in self.contents.items()
            if source is not None and target.exists() and target.samefile(source)
        }

    def write(self, folder: Path) -> None:
        """Writes the textures into `folder` under the names they will have in output_dir,
        except the `unchanged()` ones."""
        unchanged = self.unchanged()
        for target, (content, _) in self.contents.items():
            if target in unchanged:
                continue
            if isinstance(content, bytes):
                (folder / target.name).write_bytes(content)
            else:
                content.save(folder / target.name, format="PNG")
            log.info("texture %s", target.name)

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
    vertices = np.zeros((len(mesh.vertices), 5), dtype=np.float64)
    vertices[:, :3] = trimesh.transformations.transform_points(mesh.vertices, transform)
    uv = getattr(mesh.visual, "uv", None)
    if uv is not None and len(uv) == len(mesh.vertices):
        vertices[:, 3] = uv[:, 0]
        vertices[:, 4] = 1.0 - uv[:, 1]  # trimesh flips v to OpenGL's convention on load
    if not (np.abs(vertices) <= COORD_LIMIT).all():  # False for NaN too
        raise ValueError(f"a vertex value is not a finite number within +-{COORD_LIMIT:g}")
    vertices = vertices.astype(np.float32)
    faces = np.asarray(mesh.faces, dtype=np.uint32)
    if np.linalg.det(transform[:3, :3]) < 0:  # a mirroring transform turns triangles over
        faces = faces[:, ::-1]
    return vertices, faces.reshape(-1)


def _gltf_json(data: bytes, suffix: str) -> bytes | None:
    """The JSON of a .gltf file, or of a .glb file's first chunk (None for other inputs)."""
    if suffix == ".gltf":
        return data
    if suffix == ".glb" and len(data) >= 20 and data[:4] == b"glTF":
        length, kind = struct.unpack_from("<II", data, 12)
        return data[20 : 20 + length] if kind == 0x4E4F534A else None  # "JSON"
    return None


def _load_scene(input_path: Path) -> tuple[trimesh.Scene, dict[bytes, Path]]:
    data = read_input(input_path)
    suffix = input_path.suffix.lower()
    gltf_json = _gltf_json(data, suffix)
    if gltf_json is not None:  # trimesh hides JSON errors behind odd ones, or recurses
        try:
            parse_json(gltf_json)
        except FileProblemError as e:
            raise ConvertError(input_path, f"glTF JSON: {e}") from None
    resolver = _RecordingResolver(input_path)
    try:
        scene = trimesh.load(
            io.BytesIO(data),
            file_type=suffix.lstrip("."),
            force="scene",
            process=False,
            resolver=resolver,
        )
    except Exception as e:
        log.debug("trimesh failed", exc_info=True)
        raise ConvertError(input_path, f"cannot read it ({type(e).__name__}: {e})") from e
    assert isinstance(scene, trimesh.Scene), "force='scene' makes one"
    return scene, resolver.files


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
    scene, files = _load_scene(input_path)
    nodes = [
        n
        for n in scene.graph.nodes_geometry
        if isinstance(scene.geometry[scene.graph[n][1]], trimesh.Trimesh)
    ]
    if not nodes:
        raise ConvertError(input_path, "no triangle geometry in it")

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
        try:
            vertices, indices = _mesh_arrays(mesh, transform)
        except ValueError as e:
            raise ConvertError(input_path, f"node '{node}': {e}") from None
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
    inputs = [input_path, *files.values()]
    _check_outputs([*outputs, *textures.contents], inputs, force, textures.unchanged())
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(output_dir, "model_gen")
        staging = make_temp_dir(output_dir, "model_gen")
        try:
            textures.write(staging)
            write_model(staging, name, meshes, list(materials.values()), output_dir)
            for file in staging.iterdir():  # all written: now each replaces its target
                os.replace(file, output_dir / file.name)
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
        textures=len(textures.written),
        output_bytes=sum(p.stat().st_size for p in [*outputs, *textures.contents]),
    )


def _check_outputs(
    outputs: list[Path], inputs: list[Path], force: bool, kept: Collection[Path] = ()
) -> None:
    """Outputs may replace existing files only with `force`, and never an input file; `kept`
    are outputs that already are the input's own file and are left as they are."""
    clashes = []
    for path in outputs:
        if not os.path.lexists(path) or path in kept:
            continue
        if path.exists() and any(i.exists() and path.samefile(i) for i in inputs):
            raise ConvertError(
                path, "the output would overwrite the input; choose another --name or folder"
            )
        clashes.append(path)
    if clashes and not force:
        names = ", ".join(p.name for p in clashes)
        raise ConvertError(clashes[0].parent, f"{names} already there; --force replaces them")


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
    parser.add_argument(
        "--force", action="store_true", help="replace files of the same names in OUTPUT_DIR"
    )
    parser.add_argument("--debug", action="store_true", help="debug logging and tracebacks")
    args = parser.parse_args(argv)

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("model_gen: %(message)s"))
    log.addHandler(handler)
    # On a terminal the progress bar replaces the per-mesh lines.
    quiet = sys.stderr.isatty()
    log.setLevel(logging.DEBUG if args.debug else logging.WARNING if quiet else logging.INFO)
    try:
        summary = convert(args.input, args.output_dir, args.name, args.force)
    except KeyboardInterrupt:
        print("model_gen: interrupted (nothing written)", file=sys.stderr)
        return 130
    except (ConvertError, OSError) as e:
        if args.debug:
            raise
        print(f"model_gen: error: {e}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
