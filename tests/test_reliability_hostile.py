"""Hostile input (issue 11, classes 2-4): numbers that do not fit, files that are not regular
files, deep nesting. Each ends in the reader's one-line error, never a traceback, a hang, a
numpy RuntimeWarning or memory growth. Classes 7-9 (the environment, lost data, concurrency)
are in test_reliability_data.py."""

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import trimesh

from eng.com import common
from eng.com.safe_io import JSON_LIMIT
from eng.extras.convert_cache import convert_cached
from eng.geometry_files import load_geometry
from eng.json_fields import ModelError
from eng.model_data import load_materials, load_model
from eng.model_gen import ConvertError, convert
from eng.scene_data import load_scene
from eng.texture_cache import decode_images
from game.scenes import load_spec

from .test_fuzz_models import deadline
from .test_model_data import write_model, write_scene
from .test_model_gen import textured_box

QUICK = ["--headless", "--frames", "1", "--size", "32x24"]
DEEP = 100_000
# a numpy warning about overflow or NaN while reading or placing a model is a failure here
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def cube_gltf(folder: Path) -> Path:
    """A textured box as cube.gltf with its .bin buffers beside it (made here, no book data)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in trimesh.Scene(textured_box()[0]).export(file_type="gltf").items():
        (folder / ("cube.gltf" if name.endswith(".gltf") else name)).write_bytes(data)
    return folder / "cube.gltf"


def one_line(exc: BaseException, *words: str) -> None:
    text = str(exc)
    assert "\n" not in text and text.strip(), text
    for word in words:
        assert word in text, (word, text)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def leftovers(folder: Path) -> list[Path]:
    """Temporary files or folders of the atomic writers left in `folder`."""
    return [p for p in folder.rglob(".*") if p.name.endswith(".tmp") or p.name.startswith(".m")]


# --- class 2: numbers that do not fit ------------------------------------------------------


def entity(**changes) -> dict:
    return {"id": "e", "model": "m", "pos": [0, 0, 0]} | changes


HOLE = '"@@"'  # where a hostile number is spliced into a valid scene file
CAMERA = {"pos": [0, 0, 0], "pitch": 0, "yaw": 0}


@pytest.mark.parametrize(
    ("changes", "number", "words"),
    [
        ({"entities": [entity(scale="@@")]}, "9" * 400, ["entities[0].scale", "400 digits"]),
        ({"camera": CAMERA | {"yaw": "@@"}}, "Infinity", ["camera.yaw", "inf"]),
        ({"camera": CAMERA | {"pitch": "@@"}}, "NaN", ["camera.pitch", "nan"]),
        ({"camera": CAMERA | {"pos": [0, 0, "@@"]}}, "1e400", ["camera.pos[2]", "inf"]),
        ({"entities": [entity(pos=["@@", 0, 0])]}, "-Infinity", ["entities[0].pos[0]"]),
        ({"entities": [entity(pos=["@@", 0, 0])]}, "1e300", ["pos[0]", "32-bit"]),
        ({"entities": [entity(pos=["@@", 0, 0])]}, "1e12", ["'pos'", "outside"]),
        ({"entities": [entity(scale="@@")]}, "1e30", ["'scale'", "not between"]),
        ({"entities": [entity(rotation=[0, "@@", 0])]}, "3e38", ["'rotation'", "outside"]),
        ({"entities": [entity(scale="@@")]}, "9" * 5000, ["thousands of digits"]),
    ],
)
def test_scene_numbers_that_do_not_fit(tmp_path, changes, number, words):
    path = write_scene(tmp_path, **changes)
    path.write_text(path.read_text().replace(HOLE, number))
    with pytest.raises(ModelError) as info:
        load_scene(path)
    one_line(info.value, "scene.json", *words)


@pytest.mark.parametrize(
    ("color", "words"),
    [([1e300, 0, 0, 1], "32-bit"), ([1e30, 0, 0, 1], "outside"), ([2, 0, 0, 1], "outside")],
)
def test_huge_colours(tmp_path, color, words):
    write_model(tmp_path, materials=[{"id": "mat-0", "texturePath": "", "color": color}])
    with pytest.raises(ModelError) as info:
        load_materials(tmp_path / "m-mat.json")
    one_line(info.value, "m-mat.json", "color", words)


@pytest.mark.parametrize("value", [3e38, -1e20, 1e10])
def test_huge_vertices(tmp_path, value):
    vtx = np.zeros(15, "<f4")
    vtx[6] = value
    path = write_model(tmp_path, vtx=vtx.tobytes())
    with pytest.raises(ModelError) as info:
        load_geometry(load_model(path))
    one_line(info.value, "m.vtx", "vertex 1", "not a finite number")


def test_huge_model_sizes(tmp_path):
    path = write_model(tmp_path, mesh={"vtxSize": 10**399})
    with pytest.raises(ModelError) as info:
        load_model(path)
    one_line(info.value, "m.json", "vtxSize", "400 digits")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("fov = " + "9" * 400, ["'fov'", "400 digits"]),
        ("ups = " + "9" * 5000, ["thousands of digits"]),
        ("zFar = 1e300", ["'zFar'", "32-bit"]),
        ("fov = -inf", ["'fov'", "-inf"]),
    ],
)
def test_cfg_numbers_that_do_not_fit(tmp_path, text, words):
    path = tmp_path / "cfg.toml"
    path.write_text(text + "\n")
    with pytest.raises(common.ConfigError) as info:
        common.load(path)
    one_line(info.value, "cfg.toml", *words)


def gltf_triangle(folder: Path, node: dict) -> Path:
    """A one-triangle .gltf with its .bin, `node` merged into its only node."""
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], "<f4").tobytes()
    (folder / "t.bin").write_bytes(positions)
    doc = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0} | node],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "buffers": [{"uri": "t.bin", "byteLength": len(positions)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": len(positions)}],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": 3,
                "type": "VEC3",
                "min": [0, 0, 0],
                "max": [1, 1, 0],
            }
        ],
    }
    path = folder / "t.gltf"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("node", "words"),
    [
        ({"translation": [1e300, 0, 0]}, "32-bit"),
        ({"scale": [1e20, 1, 1]}, "not a finite number within"),
        ({"matrix": [3e38, 0, 0, 0, 0, 3e38, 0, 0, 0, 0, 3e38, 0, 0, 0, 0, 1]}, "within"),
    ],
)
def test_gltf_numbers_that_do_not_fit(tmp_path, node, words):
    path = gltf_triangle(tmp_path, node)
    with pytest.raises(ConvertError) as info:
        convert(path, tmp_path / "out")
    one_line(info.value, "t.gltf", words)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# --- class 3: files that are not regular files ---------------------------------------------


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def zero(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


def sparse(path: Path, size: int = JSON_LIMIT + 1) -> Path:
    with open(path, "wb") as f:
        f.truncate(size)  # no disk space used, but larger than the limit
    return path


SPECIALS = {
    "fifo": (fifo, "a FIFO"),
    "zero": (zero, "a character device"),
    "sparse": (sparse, "larger than 64 MiB"),
}


@pytest.mark.parametrize("special", SPECIALS)
@pytest.mark.parametrize("role", ["scene", "model", "materials", "vtx", "cfg"])
def test_files_that_are_not_regular(tmp_path, role, special):
    make, words = SPECIALS[special]
    scene = write_scene(tmp_path)
    target = {
        "scene": scene,
        "model": tmp_path / "m.json",
        "materials": tmp_path / "m-mat.json",
        "vtx": tmp_path / "m.vtx",
        "cfg": tmp_path / "cfg.toml",
    }[role]
    target.unlink(missing_ok=True)
    make(target)
    if special == "sparse" and role == "vtx":
        words = "m.vtx"  # within the geometry limit: read, then refused as too small a mesh
        target.unlink()
        sparse(target, 3)
    if special == "sparse" and role == "cfg":
        words = "larger than 1 MiB"
    error = common.ConfigError if role == "cfg" else ModelError
    with deadline(20, f"reading a {special} as the {role}"), pytest.raises(error) as info:
        if role == "cfg":
            common.load(target)
        else:
            for model in load_spec(scene, None).models:
                load_geometry(model)
    one_line(info.value, target.name, words)


@pytest.mark.parametrize("special", ["fifo", "zero"])
def test_texture_that_is_not_a_regular_file(tmp_path, special):
    make, words = SPECIALS[special]
    path = make(tmp_path / "t.png")
    with deadline(20, "decoding a texture"):
        [(_, result)] = list(decode_images([path]))
    assert isinstance(result, str) and words in result


@pytest.mark.parametrize("special", ["fifo", "zero"])
@pytest.mark.parametrize("role", ["t.gltf", "t.bin"])
def test_converter_input_that_is_not_a_regular_file(tmp_path, role, special):
    make, words = SPECIALS[special]
    path = gltf_triangle(tmp_path, {})
    (tmp_path / role).unlink()
    make(tmp_path / role)
    with deadline(30, "converting"), pytest.raises(ConvertError) as info:
        convert_cached(path, tmp_path / "cache")
    one_line(info.value, "t.gltf")
    if role == "t.gltf":
        one_line(info.value, words)


# --- class 4: deep nesting -----------------------------------------------------------------


@pytest.mark.parametrize("depth", [DEEP, 70])
@pytest.mark.parametrize("role", ["scene", "model", "materials"])
def test_deep_json(tmp_path, role, depth):
    scene = write_scene(tmp_path)
    target = {"scene": scene, "model": tmp_path / "m.json", "materials": tmp_path / "m-mat.json"}
    target[role].write_text("[" * depth + "]" * depth)
    with pytest.raises(ModelError) as info:
        load_scene(scene)
    one_line(info.value, target[role].name, "nested more than 64 levels")


@pytest.mark.parametrize("text", ["fov = " + "[" * DEEP, "fov = " + "{a = " * DEEP])
def test_deep_toml(tmp_path, text):
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    with pytest.raises(common.ConfigError) as info:
        common.load(path)
    one_line(info.value, "cfg.toml", "nested")


def test_deep_gltf_and_glb(tmp_path):
    deep = ("[" * DEEP + "]" * DEEP).encode()
    gltf = tmp_path / "d.gltf"
    gltf.write_bytes(b'{"asset": {"version": "2.0"}, "extras": ' + deep + b"}")
    chunk = gltf.read_bytes() + b" " * (-len(gltf.read_bytes()) % 4)
    glb = tmp_path / "d.glb"
    header = struct.pack("<4sII", b"glTF", 2, 12 + 8 + len(chunk))
    glb.write_bytes(header + struct.pack("<II", len(chunk), 0x4E4F534A) + chunk)
    for path in (gltf, glb):
        with pytest.raises(ConvertError) as info:
            convert(path, tmp_path / "out")
        one_line(info.value, path.name, "nested more than 64 levels")
