"""Hostile input (issue 11, classes 2-4, 7-9): numbers that do not fit, files that are not
regular files, deep nesting, a broken environment, lost data and concurrent converters. Each
ends in the reader's one-line error (or a warning and a normal run), never a traceback, a hang,
a numpy RuntimeWarning, memory growth or a changed user file."""

import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh

from eng.com import common
from eng.com.utils import JSON_LIMIT, atomic_write
from eng.convert_cache import convert_cached
from eng.model_data import ModelError, load_geometry, load_materials, load_model, load_scene
from eng.model_gen import ConvertError, convert
from eng.texture_cache import decode_images
from game import cli
from game.scenes import load_spec

from .conftest import ROOT
from .test_cli import assert_one_line_error, run_game
from .test_fuzz_models import deadline
from .test_model_data import write_model, write_scene
from .test_model_gen import run_cli, textured_box

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


# --- class 7: the environment --------------------------------------------------------------


@pytest.mark.parametrize("args", [QUICK, ["--list-gpus"], ["--info"]])
def test_a_garbage_driver_manifest(tmp_path, args):
    manifest = tmp_path / "icd.json"
    manifest.write_text("{garbage")
    for name in ("VK_DRIVER_FILES", "VK_ICD_FILENAMES"):
        result = run_game(*args, env_changes={name: str(manifest)})
        assert_one_line_error(result, "Vulkan loader", name, "icd.json")


def test_a_cache_folder_that_cannot_be_made(tmp_path):
    not_a_folder = tmp_path / "cache-is-a-file"
    not_a_folder.write_text("user data")
    glb = tmp_path / "box.glb"
    glb.write_bytes(textured_box()[0].export(file_type="glb"))
    env = {"XDG_CACHE_HOME": str(not_a_folder)}
    result = run_game(*QUICK, "--scene", str(glb), env_changes=env)
    assert_one_line_error(result, "model cache folder", "XDG_CACHE_HOME")
    # the default scene needs no model cache: the pipeline cache warns and the run goes on
    result = run_game(*QUICK, "--screenshot", str(tmp_path / "s.png"), env_changes=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "pipeline cache" in result.stderr
    assert not_a_folder.read_text() == "user data"


def test_a_wrong_sdl_library_path(xvfb_display, tmp_path):
    env = {"DISPLAY": xvfb_display, "SDL_BINARY_PATH": str(tmp_path)}
    result = run_game("--frames", "1", "--size", "32x24", cwd=tmp_path, env_changes=env)
    # without SDL3 no window can open: one line names the cause, the picture is rendered headless
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "cannot load SDL3" in line and "SDL_BINARY_PATH" in line and str(tmp_path) in line
    assert "rendering headless" in line


# --- class 8: lost data --------------------------------------------------------------------


def test_model_gen_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "cube.vtx").write_bytes(b"the user's own file")
    assert_cli_refused = run_cli(cube_gltf(tmp_path / "in"), out)
    assert assert_cli_refused.returncode == 1, assert_cli_refused.stderr
    assert "cube.vtx already there" in assert_cli_refused.stderr
    assert "--force" in assert_cli_refused.stderr
    assert snapshot(out) == {"cube.vtx": b"the user's own file"}
    result = run_cli(tmp_path / "in" / "cube.gltf", out, "--force")
    assert result.returncode == 0, result.stderr
    load_model(out / "cube.json")
    assert leftovers(out) == []


def test_model_gen_never_overwrites_the_inputs_own_files_even_with_force(tmp_path):
    path = gltf_triangle(tmp_path, {})
    (tmp_path / "t.bin").rename(tmp_path / "t.idx")  # the .bin has an output's name
    doc = json.loads(path.read_text())
    doc["buffers"][0]["uri"] = "t.idx"
    path.write_text(json.dumps(doc))
    before = snapshot(tmp_path)
    result = run_cli(path, tmp_path, "--force")
    assert result.returncode == 1 and "overwrite the input" in result.stderr, result.stderr
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".hidden", "a\\b", "/abs"])
def test_model_gen_names_cannot_leave_the_output_folder(tmp_path, name):
    out = tmp_path / "out"
    source = cube_gltf(tmp_path / "in")
    before = snapshot(tmp_path)
    result = run_cli(source, out, "--name", name)
    assert result.returncode == 1 and "model name" in result.stderr, result.stderr
    assert snapshot(tmp_path) == before


def test_model_gen_interrupted_or_failing_output_changes_nothing(tmp_path, monkeypatch):
    import eng.model_gen as model_gen

    out = tmp_path / "out"
    source = cube_gltf(tmp_path / "in")
    convert(source, out)
    before = snapshot(out)
    real = model_gen.write_model

    def half_then(exc):
        def write(folder, *args, **kwargs):
            real(folder, *args, **kwargs)
            raise exc

        return write

    for exc in (KeyboardInterrupt(), OSError(28, "No space left on device")):
        monkeypatch.setattr(model_gen, "write_model", half_then(exc))
        with pytest.raises((KeyboardInterrupt, ConvertError)):
            convert(source, out, force=True)
        assert snapshot(out) == before
        assert leftovers(out) == [] and [p.name for p in out.iterdir() if p.is_dir()] == []


def test_an_interrupted_screenshot_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "shot.png"
    path.write_bytes(b"the user's old screenshot")

    def interrupted(f):
        f.write(b"\x89PNG half a picture")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cli._write_output("--screenshot", path, interrupted)
    assert path.read_bytes() == b"the user's old screenshot"
    assert leftovers(tmp_path) == []
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new" and oct(path.stat().st_mode & 0o777) != "0o600"


def test_an_unwritable_bench_path_is_found_before_rendering(tmp_path):
    result = run_game(*QUICK, "--bench", "/proc/zvk-bench.json")
    assert_one_line_error(result, "--bench /proc/zvk-bench.json", "cannot write")
    assert "frames in" not in result.stdout  # refused before rendering


def test_a_bench_write_that_fails_still_saves_the_screenshot(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "check_writable", lambda option, path: None)
    shot = tmp_path / "s.png"
    status = cli.main([*QUICK, "--screenshot", str(shot), "--bench", "/proc/zvk-bench.json"])
    assert status == 2
    assert shot.is_file() and shot.stat().st_size > 0


# --- class 9: concurrency ------------------------------------------------------------------

CONVERT = "import sys; from eng.convert_cache import convert_cached; convert_cached(*sys.argv[1:])"


def test_four_processes_convert_into_a_fresh_cache(tmp_path):
    glb = tmp_path / "box.glb"
    glb.write_bytes(textured_box()[0].export(file_type="glb"))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for round_ in range(3):
        cache = tmp_path / f"cache-{round_}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CONVERT, str(glb), str(cache)],
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        [folder] = list(cache.iterdir())
        load_model(folder / "box.json")


def test_stale_temporaries_are_cleaned_up(tmp_path):
    glb = tmp_path / "box.glb"
    glb.write_bytes(textured_box()[0].export(file_type="glb"))
    cache = tmp_path / "cache"
    # a converter killed by SIGTERM: its folder remains, its pid is gone
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = cache / f".convert-{proc.pid}-abc123"
    (dead / "half").mkdir(parents=True)
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    old = cache / ".convert-1-old"  # pid 1 is alive, but the folder is two hours old
    old.mkdir()
    os.utime(old, (0, os.path.getmtime(old) - 7200))
    model = convert_cached(glb, cache)
    assert sorted(p.name for p in cache.iterdir()) == [model.parent.name]
