"""eng.model_gen: glTF / GLB / OBJ -> the book's format, on models made here and the book's cube."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from eng.extras.convert_cache import convert_cached
from eng.geometry_files import load_geometry
from eng.model_data import check_materials, load_materials, load_model
from eng.model_data import materials_path_for as mat_path
from eng.model_gen import ConvertError, convert

from .helpers import ROOT, book_file


def load_converted(model_path: Path):
    model = load_model(model_path)
    materials = load_materials(mat_path(model_path))
    check_materials(model, materials)
    vertices, indices = load_geometry(model)
    return model, materials, vertices, indices


def triangle_set(vertices: np.ndarray, indices: np.ndarray) -> set:
    """Triangles as rotation-normalised tuples of rounded (position, uv) rows."""
    rows = [tuple(np.round(v, 5) + 0.0) for v in vertices]  # + 0.0 turns -0.0 into 0.0
    result = set()
    for a, b, c in indices.reshape(-1, 3):
        tri = (rows[a], rows[b], rows[c])
        k = tri.index(min(tri))
        result.add(tri[k:] + tri[:k])
    return result


def textured_box(uv_seed: int = 1) -> tuple[trimesh.Trimesh, Image.Image]:
    rng = np.random.default_rng(uv_seed)
    image = Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
    mesh = trimesh.creation.box()
    material = trimesh.visual.material.PBRMaterial(
        baseColorTexture=image, baseColorFactor=[255, 128, 0, 255]
    )
    mesh.visual = trimesh.visual.TextureVisuals(uv=rng.random((8, 2)), material=material)
    return mesh, image


def obj_files(folder: Path) -> tuple[Path, trimesh.Trimesh]:
    """The textured box as box.obj + material.mtl + its texture file in `folder`."""
    mesh, _ = textured_box()
    folder.mkdir(exist_ok=True)
    mesh.export(folder / "box.obj")
    return folder / "box.obj", mesh


def test_gltf_with_separate_buffers_round_trips(tmp_path: Path) -> None:
    """A text .gltf with its .bin buffers beside it: the converted geometry is the mesh's."""
    mesh, image = textured_box()
    for name, data in trimesh.Scene(mesh).export(file_type="gltf").items():
        (tmp_path / name).write_bytes(data)
    summary = convert(tmp_path / "model.gltf", tmp_path / "out")
    assert (summary.meshes, summary.vertices, summary.triangles) == (1, len(mesh.vertices), 12)
    _, materials, vertices, indices = load_converted(summary.model_path)
    uv = mesh.visual.uv * [1, -1] + [0, 1]  # stored as glTF has it: v = 0 at the top
    expected = np.hstack([mesh.vertices, uv]).astype(np.float32)
    assert triangle_set(vertices, indices) == triangle_set(expected, mesh.faces.reshape(-1))
    texture = materials[0].texture_path
    assert np.array_equal(np.asarray(Image.open(texture).convert("RGB")), np.asarray(image))


@pytest.mark.book_data
def test_book_cube_matches_book_data(tmp_path: Path) -> None:
    summary = convert(book_file("cube", "cube.gltf"), tmp_path)
    assert (summary.meshes, summary.vertices, summary.triangles) == (1, 36, 12)
    assert (summary.materials, summary.textures) == (1, 1)
    _, materials, vertices, indices = load_converted(summary.model_path)

    book_vtx = np.fromfile(book_file("cube", "cube.vtx"), "<f4").reshape(-1, 5)
    book_idx = np.fromfile(book_file("cube", "cube.idx"), "<u4")
    assert vertices.shape == book_vtx.shape
    assert sorted(map(tuple, np.round(vertices, 5) + 0.0)) == sorted(
        map(tuple, np.round(book_vtx, 5) + 0.0)
    )
    assert np.abs(np.sort(vertices, axis=0) - np.sort(book_vtx, axis=0)).max() < 1e-5
    assert triangle_set(vertices, indices) == triangle_set(book_vtx, book_idx)

    texture = materials[0].texture_path
    assert texture == tmp_path / "cube_base.png"
    assert texture.read_bytes() == (book_file("cube", "cube_base.png")).read_bytes()
    assert mat_path(summary.model_path).read_text().count('"texturePath": "cube_base.png"') == 1


def test_glb_with_embedded_texture(tmp_path: Path) -> None:
    mesh, image = textured_box()
    scene = trimesh.Scene()
    scene.add_geometry(
        mesh, node_name="moved", transform=trimesh.transformations.translation_matrix([5, 0, 0])
    )
    glb = tmp_path / "box.glb"
    glb.write_bytes(scene.export(file_type="glb"))

    summary = convert(glb, tmp_path / "out", name="crate")
    model, materials, vertices, _ = load_converted(summary.model_path)
    assert model.id == "crate" and summary.textures == 1
    texture = materials[0].texture_path
    assert texture is not None and texture.suffix == ".png" and texture.parent == tmp_path / "out"
    assert np.array_equal(np.asarray(Image.open(texture).convert("RGB")), np.asarray(image))
    assert np.allclose(materials[0].color, (1, 128 / 255, 0, 1))
    # The node transform is applied and v is flipped back to the glTF convention.
    assert np.allclose(vertices[:, 0].mean(), 5)
    assert np.allclose(vertices[:, 3:], mesh.visual.uv * [1, -1] + [0, 1], atol=1e-6)


def test_obj_with_mtl_texture(tmp_path: Path) -> None:
    mesh, image = textured_box()
    obj_dir = tmp_path / "obj"
    obj_dir.mkdir()
    mesh.export(obj_dir / "box.obj")
    textures = [p for p in obj_dir.iterdir() if p.suffix == ".png"]
    assert len(textures) == 1 and (obj_dir / "material.mtl").is_file()

    summary = convert(obj_dir / "box.obj", tmp_path / "out")
    _, materials, vertices, indices = load_converted(summary.model_path)
    assert (summary.meshes, summary.triangles, summary.textures) == (1, 12, 1)
    copied = materials[0].texture_path
    assert copied == tmp_path / "out" / textures[0].name
    assert copied.read_bytes() == textures[0].read_bytes()
    assert len(indices) == 36 and indices.max() < len(vertices)


def test_untextured_materials_keep_their_colour(tmp_path: Path) -> None:
    red = trimesh.creation.icosphere(subdivisions=1)
    red.visual = trimesh.visual.TextureVisuals(
        material=trimesh.visual.material.PBRMaterial(baseColorFactor=[255, 0, 0, 255])
    )
    green = trimesh.creation.box()
    green.visual.vertex_colors = [0, 255, 0, 255]
    glb = tmp_path / "two.glb"
    glb.write_bytes(trimesh.Scene([red, green]).export(file_type="glb"))

    summary = convert(glb, tmp_path / "out")
    model, materials, vertices, _ = load_converted(summary.model_path)
    assert summary.meshes == 2 and summary.textures == 0
    assert all(m.texture_path is None for m in materials)
    colors = {materials_by_id.color for materials_by_id in materials}
    assert (1.0, 0.0, 0.0, 1.0) in colors and (0.0, 1.0, 0.0, 1.0) in colors
    assert np.all(vertices[:, 3:] == 0)  # no UVs: uv 0
    assert '"texturePath": ""' in mat_path(summary.model_path).read_text()


def run_cli(*args: str | Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "eng.model_gen", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def assert_cli_error(result: subprocess.CompletedProcess, words: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("model_gen: error: "), result.stderr
    assert words in lines[0]


def test_cli_missing_file(tmp_path: Path) -> None:
    assert_cli_error(run_cli(tmp_path / "nope.glb", tmp_path / "out"), "nope.glb: file not found")
    missing_folder = tmp_path / "nowhere" / "nope.glb"
    assert_cli_error(run_cli(missing_folder, tmp_path / "out"), "nope.glb: file not found")


@pytest.mark.parametrize("name", ["garbage.glb", "garbage.gltf", "garbage.obj"])
def test_cli_garbage_file(tmp_path: Path, name: str) -> None:
    garbage = tmp_path / name
    garbage.write_bytes(np.random.default_rng(0).bytes(3000))
    assert_cli_error(run_cli(garbage, tmp_path / "out"), name)
    assert not (tmp_path / "out").exists()


def test_cli_output_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("")
    obj, _ = obj_files(tmp_path / "in")
    assert_cli_error(run_cli(obj, tmp_path / "out"), "is a file")


def test_cli_converts_and_summarises(tmp_path: Path) -> None:
    obj, mesh = obj_files(tmp_path / "in")
    result = run_cli(obj, tmp_path, "--name", "c")
    assert result.returncode == 0, result.stderr
    count = len(mesh.vertices)
    assert f"1 meshes, {count} vertices, 12 triangles, 1 materials, 1 textures" in result.stdout
    assert (tmp_path / "c.json").is_file() and (tmp_path / "c-mat.json").is_file()


def test_cli_help() -> None:
    result = run_cli("--help")
    assert result.returncode == 0 and "OUTPUT_DIR".lower() in result.stdout.lower()


def test_never_overwrites_the_input(tmp_path: Path) -> None:
    mesh, _ = textured_box()
    weird = tmp_path / "m.vtx"  # an input whose name is one of the outputs
    weird.write_bytes(mesh.export(file_type="glb"))
    with pytest.raises(ConvertError, match="overwrite the input"):
        convert(weird, tmp_path, name="m")


def test_convert_cached_reuses_its_cache(tmp_path: Path) -> None:
    mesh, _ = textured_box()
    glb = tmp_path / "box.glb"
    glb.write_bytes(mesh.export(file_type="glb"))
    cache = tmp_path / "cache"

    first = convert_cached(glb, cache)
    assert first.parent.parent == cache and len(first.parent.name) == 33
    load_converted(first)
    stamp = first.stat().st_mtime_ns
    second = convert_cached(glb, cache)
    assert second == first and second.stat().st_mtime_ns == stamp
    assert [p.name for p in cache.iterdir()] == [first.parent.name]  # no temporary folders left

    mesh.apply_translation([1, 0, 0])
    glb.write_bytes(mesh.export(file_type="glb"))
    assert convert_cached(glb, cache) != first


def test_convert_into_the_input_folder(tmp_path: Path) -> None:
    obj, _ = obj_files(tmp_path)
    (texture,) = tmp_path.glob("*.png")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    summary = convert(obj, tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in before} == before
    assert load_converted(summary.model_path)[1][0].texture_path == texture


# --- what the converter checks before it says "done" (hardening issue, class 2) -----------


def problem_lines(stderr: str) -> list[str]:
    """stderr without the progress lines (one per mesh and texture when not on a terminal)."""
    progress = ("model_gen: mesh ", "model_gen: texture ")
    return [line for line in stderr.splitlines() if line and not line.startswith(progress)]


def png_bytes(color: tuple[int, int, int] = (200, 10, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(buffer, format="PNG")
    return buffer.getvalue()


def textured_gltf(
    folder: Path, image: dict | None = None, extra_bin: bytes = b"", **changes: object
) -> Path:
    """A one-triangle t.gltf with UVs (t.bin beside it, `extra_bin` appended as bufferView 2)
    whose material's base colour texture is `image`, a glTF image (default: tex.png, written
    here); `changes` replace top-level keys of the document."""
    folder.mkdir(parents=True, exist_ok=True)
    geometry = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], "<f4").tobytes()
    geometry += np.array([[0, 0], [1, 0], [0, 1]], "<f4").tobytes()
    (folder / "t.bin").write_bytes(geometry + extra_bin)
    (folder / "tex.png").write_bytes(png_bytes())
    doc = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1},
                                    "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}],
        "textures": [{"source": 0}],
        "images": [image or {"uri": "tex.png"}],
        "buffers": [{"uri": "t.bin", "byteLength": 60 + len(extra_bin)}],
        "bufferViews": [{"buffer": 0, "byteLength": 36},
                        {"buffer": 0, "byteOffset": 36, "byteLength": 24},
                        {"buffer": 0, "byteOffset": 60, "byteLength": len(extra_bin)}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                       "min": [0, 0, 0], "max": [1, 1, 0]},
                      {"bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC2"}],
    } | changes  # fmt: skip
    (folder / "t.gltf").write_text(json.dumps(doc))
    return folder / "t.gltf"


def glb_of(gltf: Path) -> Path:
    """The .gltf and its one buffer as a .glb beside it (the buffer as its binary chunk)."""
    doc = json.loads(gltf.read_text())
    binary = (gltf.parent / doc["buffers"][0].pop("uri")).read_bytes()
    binary += b"\0" * (-len(binary) % 4)
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text
    body += struct.pack("<II", len(binary), 0x004E4942) + binary
    path = gltf.with_suffix(".glb")
    path.write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)
    return path


def bomb_png() -> bytes:
    """A PNG header of 20000 x 20000 pixels: Pillow refuses it as a decompression bomb."""
    chunks = [(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)),
              (b"IDAT", zlib.compress(b"\0" * 100)), (b"IEND", b"")]  # fmt: skip
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(c)) + t + c + struct.pack(">I", zlib.crc32(t + c)) for t, c in chunks
    )


def _unusable(name: str, make) -> Callable[[Path], dict]:
    """A texture file `name` made by `make(path)`, named by the image's uri."""

    def setup(folder: Path) -> dict:
        folder.mkdir(parents=True, exist_ok=True)
        make(folder / name)
        return {"uri": name}

    return setup


TEXTURE_PROBLEMS: dict[str, tuple[Callable[[Path], dict], str, str]] = {
    "missing": (lambda d: {"uri": "gone.png"}, "gone.png", "file not found"),
    "folder": (_unusable("dir.png", Path.mkdir), "dir.png", "a folder"),
    "fifo": (_unusable("pipe.png", os.mkfifo), "pipe.png", "a FIFO"),
    "empty": (_unusable("empty.png", lambda p: p.write_bytes(b"")), "empty.png", "is empty"),
    "svg": (
        _unusable("s.svg", lambda p: p.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')),
        "s.svg",
        "not an image Pillow reads",
    ),
    "bomb": (_unusable("bomb.png", lambda p: p.write_bytes(bomb_png())), "bomb.png", "bomb"),
    "truncated": (
        _unusable("half.png", lambda p: p.write_bytes(png_bytes()[:20])),
        "half.png",
        "cannot decode it",
    ),
    "link out of the folder": (
        _unusable("out.png", lambda p: p.symlink_to(p.parent.parent / "elsewhere.png")),
        "out.png",
        "not a file inside the model's folder",
    ),
    "path out of the folder": (
        lambda d: {"uri": "../elsewhere.png"},
        "../elsewhere.png",
        "not a file inside the model's folder",
    ),
    "/dev/zero": (
        _unusable("zero.png", lambda p: p.symlink_to("/dev/zero")),
        "zero.png",
        "not a file inside",
    ),
    "bad data URI": (
        lambda d: {"uri": "data:image/png;base64"},
        "image 0 (a data URI)",
        "not a valid data URI",
    ),
    "data URI of no image": (
        lambda d: {"uri": "data:image/png;base64,AAAA"},
        "image 0 (a data URI)",
        "not an image",
    ),
    "embedded garbage": (lambda d: {"bufferView": 2}, "image 0 (embedded)", "not an image"),
    "embedded view out of range": (
        lambda d: {"bufferView": 7},
        "image 0 (embedded)",
        "bufferView 7",
    ),
}


@pytest.mark.parametrize("kind", TEXTURE_PROBLEMS)
def test_a_texture_that_cannot_be_used_is_named_and_dropped(tmp_path, caplog, kind):
    setup, label, words = TEXTURE_PROBLEMS[kind]
    (tmp_path / "elsewhere.png").write_bytes(png_bytes())  # outside the model's folder
    source = textured_gltf(tmp_path / "in", setup(tmp_path / "in"), extra_bin=b"garbage!")
    with caplog.at_level(logging.WARNING, "eng.model"):
        summary = convert(source, tmp_path / "out")
    [warning] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.startswith(f"texture {label}: ") and words in warning, warning
    assert (summary.textures, summary.dropped) == (0, 1)
    assert load_converted(summary.model_path)[1][0].texture_path is None
    assert (tmp_path / "elsewhere.png").read_bytes() == png_bytes()


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 5}}}]},
         "texture #5: not one of the glTF's textures"),
        ({"textures": [{"source": 9}]}, "texture #0: it names none of the glTF's images"),
        ({"images": [{"mimeType": "image/png"}]}, "texture image 0: it has neither a uri nor"),
    ],
    ids=["no such texture", "no such image", "an image of nothing"],
)  # fmt: skip
def test_a_broken_texture_reference_is_named(tmp_path, caplog, changes, words):
    source = textured_gltf(tmp_path, **changes)
    with caplog.at_level(logging.WARNING, "eng.model"):
        summary = convert(source, tmp_path / "out")
    [warning] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.startswith(words) and summary.dropped == 1, warning


def test_the_cli_warns_once_per_dropped_texture_and_counts_them(tmp_path):
    source = textured_gltf(tmp_path / "in", {"uri": "gone.png"})
    doc = json.loads(source.read_text())  # two materials share the missing image
    doc["materials"].append(doc["materials"][0] | {"name": "again"})
    doc["meshes"][0]["primitives"].append(doc["meshes"][0]["primitives"][0] | {"material": 1})
    source.write_text(json.dumps(doc))
    result = run_cli(source, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert problem_lines(result.stderr) == [
        "model_gen: warning: texture gone.png: file not found; its material keeps its colour"
    ]
    assert "0 textures (1 dropped)" in result.stdout.strip().splitlines()[-1]


def test_obj_textures_and_material_libraries_that_cannot_be_used_are_named(tmp_path, caplog):
    obj, _ = obj_files(tmp_path / "a")
    (texture,) = (tmp_path / "a").glob("*.png")
    texture.unlink()
    obj_b, _ = obj_files(tmp_path / "b")
    (tmp_path / "b" / "material.mtl").unlink()
    with caplog.at_level(logging.WARNING, "eng.model"):
        missing_texture = convert(obj, tmp_path / "out-a")
        convert(obj_b, tmp_path / "out-b")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        f"texture {texture.name}: file not found; its material keeps its colour",
        "material library material.mtl: file not found; its materials and their textures are "
        "left out",
    ]
    assert missing_texture.dropped == 1


def test_an_mtl_map_with_options_and_a_backslash_path_finds_its_texture(tmp_path):
    obj, _ = obj_files(tmp_path)
    (texture,) = tmp_path.glob("*.png")
    mtl = tmp_path / "material.mtl"
    line = next(x for x in mtl.read_text().splitlines() if x.lower().startswith("map_kd"))
    mtl.write_text(mtl.read_text().replace(line, f"map_Kd -s 1 1 1 -bm 0.5 old\\{texture.name}"))
    summary = convert(obj, tmp_path / "out")
    assert (summary.textures, summary.dropped) == (1, 0)
    copied = load_converted(summary.model_path)[1][0].texture_path
    assert copied is not None and copied.read_bytes() == texture.read_bytes()


def test_percent_encoded_gltf_uris_are_read(tmp_path):
    source = textured_gltf(tmp_path, {"uri": "my%20tex%25.png"})
    (tmp_path / "t.bin").rename(tmp_path / "m y.bin")
    (tmp_path / "tex.png").rename(tmp_path / "my tex%.png")
    doc = json.loads(source.read_text())
    doc["buffers"][0]["uri"] = "m%20y.bin"
    source.write_text(json.dumps(doc))
    summary = convert(source, tmp_path / "out")
    texture = load_converted(summary.model_path)[1][0].texture_path
    assert texture == tmp_path / "out" / "my tex%.png"
    assert texture.read_bytes() == png_bytes()


def test_a_texture_never_takes_the_name_of_one_of_the_models_files(tmp_path):
    source = textured_gltf(tmp_path / "in", {"uri": "t.json"})  # a PNG named like the model
    (tmp_path / "in" / "t.json").write_bytes(png_bytes())
    summary = convert(source, tmp_path / "out")
    texture = load_converted(summary.model_path)[1][0].texture_path
    assert texture == tmp_path / "out" / "t-1.json" and texture.read_bytes() == png_bytes()


def _strip_with_two_vertices(folder: Path) -> Path:
    source = textured_gltf(folder)
    doc = json.loads(source.read_text())
    doc["meshes"][0]["primitives"][0]["mode"] = 5  # a triangle strip of 2 vertices: none
    doc["accessors"][0]["count"] = doc["accessors"][1]["count"] = 2
    source.write_text(json.dumps(doc))
    return source


def _with_indices(folder: Path, indices: list[int], count: int | None = None) -> Path:
    source = textured_gltf(folder, extra_bin=np.array(indices, "<u4").tobytes())
    doc = json.loads(source.read_text())
    doc["accessors"].append({"bufferView": 2, "componentType": 5125, "type": "SCALAR",
                             "count": len(indices) if count is None else count})  # fmt: skip
    doc["meshes"][0]["primitives"][0]["indices"] = 2
    source.write_text(json.dumps(doc))
    return source


def _with_count(folder: Path, count: int) -> Path:
    source = textured_gltf(folder)
    doc = json.loads(source.read_text())
    doc["accessors"][0]["count"] = count
    source.write_text(json.dumps(doc))
    return source


ENGINE_REFUSALS = {
    "index out of range": (lambda d: _with_indices(d, [0, 1, 7]), "index 7 is out of range"),
    "no triangles": (_strip_with_two_vertices, "no triangles to draw"),
    "position count 0": (lambda d: _with_count(d, 0), "accessor 0: count 0"),
    "position count -3": (lambda d: _with_count(d, -3), "accessor 0: count -3"),
    "index count 0": (lambda d: _with_indices(d, [0, 1, 2], count=0), "accessor 2: count 0"),
    "a bufferView past its buffer": (  # trimesh: an AssertionError without a message
        lambda d: textured_gltf(d, buffers=[{"uri": "t.bin", "byteLength": 50}]),
        "bufferView 1 is not within a buffer",
    ),
}


@pytest.mark.parametrize("case", ENGINE_REFUSALS)
def test_what_the_engine_would_refuse_is_an_error_before_writing(tmp_path, case):
    make, words = ENGINE_REFUSALS[case]
    result = run_cli(make(tmp_path / "in"), tmp_path / "out")
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = problem_lines(result.stderr)
    assert line.startswith("model_gen: error: ") and "t.gltf" in line and words in line, line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


NODE_GRAPHS = {
    "a node its own child": ([{"mesh": 0, "children": [0]}], "node 0 is its own ancestor"),
    "a cycle of two": ([{"children": [1]}, {"mesh": 0, "children": [0]}], "own ancestor"),
    "a cycle below the scene": (
        [{"mesh": 0, "children": [1]}, {"children": [2]}, {"children": [1]}],
        "two parents",
    ),
    "a cycle apart from the scene": (
        [{"mesh": 0}, {"children": [2]}, {"children": [1]}],
        "is its own ancestor (the node graph has a cycle)",
    ),
    "two parents": ([{"children": [2]}, {"children": [2]}, {"mesh": 0}], "node 2 has two parents"),
    "a child that is no node": ([{"mesh": 0, "children": [5]}], "child 5 is not a node index"),
    "a mesh that is no mesh": ([{"mesh": 3}], "node 0: mesh 3 is not a mesh index"),
    "a scene root with a parent": (
        [{"mesh": 0, "children": [1]}, {"mesh": 0}],
        "scene 0: node 1 is not a root",
    ),
}


@pytest.mark.parametrize("case", NODE_GRAPHS)
@pytest.mark.parametrize("suffix", [".gltf", ".glb"])
def test_a_node_graph_that_is_not_a_forest_is_one_line(tmp_path, case, suffix):
    nodes, words = NODE_GRAPHS[case]
    scenes = [{"nodes": [0, 1] if "scene root" in case else [0]}]
    source = textured_gltf(tmp_path, nodes=nodes, scenes=scenes)
    if suffix == ".glb":
        source = glb_of(source)
    result = run_cli(source, tmp_path / "out")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    [line] = problem_lines(result.stderr)
    assert source.name in line and words in line, line


# --- --force replaces a model whole or not at all ----------------------------------------


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def two_versions(tmp_path: Path) -> tuple[Path, Path]:
    """A model converted into out/, and the input of a second version of it (other geometry,
    another texture of the same name)."""
    first = textured_gltf(tmp_path / "v1")
    convert(first, tmp_path / "out")
    second = textured_gltf(tmp_path / "v2", extra_bin=b"")
    (tmp_path / "v2" / "tex.png").write_bytes(png_bytes((0, 0, 255)))
    doc = json.loads(second.read_text())
    doc["nodes"][0]["translation"] = [5, 0, 0]
    second.write_text(json.dumps(doc))
    return tmp_path / "out", second


def test_force_replaces_the_model_and_its_own_texture(tmp_path):
    out, second = two_versions(tmp_path)
    convert(second, out, force=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["t.json", "t.vtx", "t.idx", "t-mat.json", "tex.png"]
    )
    _, materials, vertices, _ = load_converted(out / "t.json")
    assert vertices[:, 0].min() == 5 and materials[0].texture_path == out / "tex.png"
    assert (out / "tex.png").read_bytes() == png_bytes((0, 0, 255))


def test_a_failed_replace_leaves_the_old_model_whole(tmp_path, monkeypatch):
    """A rename that fails half-way (here the fourth file moved into the output folder) puts
    every file back as it was: before, three new files stayed beside one old one."""
    out, second = two_versions(tmp_path)
    before = snapshot(out)
    moves: list[str] = []

    def failing(real):
        def move(src, dst, *args, **kwargs):
            if Path(dst).parent == out and not Path(dst).name.startswith("."):
                moves.append(Path(dst).name)
                if len(moves) == 4:
                    raise OSError(28, "No space left on device")
            return real(src, dst, *args, **kwargs)

        return move

    monkeypatch.setattr(os, "rename", failing(os.rename))
    monkeypatch.setattr(os, "replace", failing(os.replace))
    with pytest.raises(ConvertError, match="No space left"):
        convert(second, out, force=True)
    monkeypatch.undo()
    assert snapshot(out) == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    convert(second, out, force=True)  # and the next try succeeds
    assert moves[-1] == "t.json"  # the model's .json comes last: a reader finds all or nothing


def test_a_replace_that_cannot_be_undone_says_where_the_old_files_are(tmp_path, monkeypatch):
    out, second = two_versions(tmp_path)
    before = snapshot(out)
    real = os.rename

    def failing(src, dst):
        if Path(dst) == out / "t.idx":  # placing the new one, then putting the old one back
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(os, "rename", failing)
    with pytest.raises(ConvertError, match="the old files are in .*model_gen-old") as info:
        convert(second, out, force=True)
    monkeypatch.undo()
    [aside] = out.glob(".model_gen-old-*")
    assert (aside / "t.idx").read_bytes() == before["t.idx"]  # kept, not removed
    convert(second, out, force=True)  # a later run leaves it alone
    assert (aside / "t.idx").is_file(), info.value


def test_a_folder_in_the_way_is_refused_before_anything_changes(tmp_path):
    out, second = two_versions(tmp_path)
    (out / "t-mat.json").unlink()
    (out / "t-mat.json").mkdir()
    before = snapshot(out)
    with pytest.raises(ConvertError, match="t-mat.json: is there and not a file"):
        convert(second, out, force=True)
    assert snapshot(out) == before and (out / "t-mat.json").is_dir()


def test_another_models_texture_is_never_overwritten(tmp_path):
    """Model a in out/ uses tex.png; model t has a texture of the same name. Without --force
    the converter refuses; with it, t's texture takes another name. Either way a's is kept."""
    out = tmp_path / "out"
    convert(textured_gltf(tmp_path / "a"), out, name="a")
    theirs = (out / "tex.png").read_bytes()
    source = textured_gltf(tmp_path / "t")
    (tmp_path / "t" / "tex.png").write_bytes(png_bytes((0, 255, 0)))
    with pytest.raises(ConvertError, match="tex.png already there"):
        convert(source, out)
    assert (out / "tex.png").read_bytes() == theirs
    convert(source, out, force=True)
    assert (out / "tex.png").read_bytes() == theirs
    assert load_converted(out / "a.json")[1][0].texture_path == out / "tex.png"
    mine = load_converted(out / "t.json")[1][0].texture_path
    assert mine == out / "tex-1.png" and mine.read_bytes() == png_bytes((0, 255, 0))


# --- Ctrl-C --------------------------------------------------------------------------------

# model_gen.main in a child whose conversion waits, after saying so, until it is interrupted
WAITING_CONVERTER = """
import sys, time
import eng.model_gen as model_gen
def wait(*args):
    print("converting", flush=True)
    time.sleep(60)
model_gen._load_scene = wait
sys.exit(model_gen.main(sys.argv[1:]))
"""


def test_ctrl_c_ends_model_gen_with_status_130_and_one_line(tmp_path):
    source = textured_gltf(tmp_path / "in")
    proc = subprocess.Popen(
        [sys.executable, "-c", WAITING_CONVERTER, str(source), str(tmp_path / "out")],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "converting\n"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert problem_lines(err) == ["model_gen: interrupted (no model half-written)"]
    assert not (tmp_path / "out").exists()


def test_the_per_mesh_lines_come_with_verbose_only(tmp_path: Path) -> None:
    mesh, _ = textured_box()
    mesh.export(tmp_path / "box.glb")
    quiet = run_cli(tmp_path / "box.glb", tmp_path / "quiet")
    verbose = run_cli(tmp_path / "box.glb", tmp_path / "verbose", "-v")
    assert quiet.returncode == verbose.returncode == 0, quiet.stderr + verbose.stderr
    assert "mesh " not in quiet.stderr and "mesh " in verbose.stderr
