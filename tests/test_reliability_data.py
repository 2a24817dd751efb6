"""Hostile input (issue 11, classes 7-9): a broken environment, lost data and concurrent
converters. Each ends in a one-line error (or a warning and a normal run), never a traceback,
a hang or a changed user file. Classes 2-4 are in test_reliability_hostile.py. Then the
conversion cache (hardening issue, class 3): keyed on every file a model reads, an entry that
does not verify is rebuilt."""

import json
import os
import shutil
import signal
import struct
import subprocess
import sys

import numpy as np
import pytest

from eng.com.safe_io import atomic_write
from eng.extras.convert_cache import MANIFEST, convert_cached
from eng.model_data import load_model
from eng.model_gen import ConvertError, convert
from game import cli, options

from .helpers import ROOT
from .test_cli import assert_one_line_error, run_game
from .test_model_gen import (
    load_converted,
    obj_files,
    png_bytes,
    run_cli,
    textured_box,
    textured_gltf,
)
from .test_reliability_hostile import QUICK, cube_gltf, gltf_triangle, leftovers, snapshot

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


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
    monkeypatch.setattr(options, "check_writable", lambda option, path: None)
    shot = tmp_path / "s.png"
    status = cli.main([*QUICK, "--screenshot", str(shot), "--bench", "/proc/zvk-bench.json"])
    assert status == 2
    assert shot.is_file() and shot.stat().st_size > 0


# --- class 9: concurrency ------------------------------------------------------------------

CONVERT = (
    "import sys; from eng.extras.convert_cache import convert_cached; convert_cached(*sys.argv[1:])"
)


def convert_at_once(glb, cache, processes: int = 4) -> None:
    """`processes` converters of `glb` into `cache`, started together; each must succeed."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-c", CONVERT, str(glb), str(cache)]
    procs = [
        subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err


def test_four_processes_convert_into_a_fresh_cache(tmp_path):
    glb = tmp_path / "box.glb"
    glb.write_bytes(textured_box()[0].export(file_type="glb"))
    for round_ in range(3):
        cache = tmp_path / f"cache-{round_}"
        convert_at_once(glb, cache)
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


# --- the conversion cache: keyed on every input, entries verified (hardening issue, class 3)


def load_cached(model_path):
    """The cached model loaded as the engine loads it: (vertices, texture bytes or None)."""
    _, materials, vertices, _ = load_converted(model_path)
    texture = materials[0].texture_path
    return vertices, texture.read_bytes() if texture else None


def _edit_bin(folder):
    doc = json.loads((folder / "t.gltf").read_text())
    data = bytearray((folder / "t.bin").read_bytes())
    struct.pack_into("<f", data, 12, 7.0)  # vertex 1: x = 7
    (folder / "t.bin").write_bytes(bytes(data))
    return doc


EDITS = {
    "the .bin": lambda d: _edit_bin(d),
    "the texture": lambda d: (d / "tex.png").write_bytes(png_bytes((0, 0, 255))),
    "the texture's mtime only": lambda d: os.utime(d / "tex.png", ns=(0, 10**18)),
    "a missing texture put back": lambda d: (d / "tex.png").write_bytes(png_bytes((0, 0, 255))),
}


@pytest.mark.parametrize("edit", EDITS)
def test_the_cache_sees_an_edit_of_any_file_the_model_reads(tmp_path, edit):
    source = textured_gltf(tmp_path / "in")
    if edit == "a missing texture put back":
        (tmp_path / "in" / "tex.png").unlink()
    cache = tmp_path / "cache"
    first = convert_cached(source, cache)
    vertices, texture = load_cached(first)
    EDITS[edit](tmp_path / "in")
    second = convert_cached(source, cache)
    assert second != first and [p.name for p in cache.iterdir()] == [second.parent.name]
    new_vertices, new_texture = load_cached(second)
    if edit == "the .bin":
        assert new_vertices[:, 0].max() == 7 and vertices[:, 0].max() == 1
    elif edit != "the texture's mtime only":
        assert new_texture == png_bytes((0, 0, 255)) and texture != new_texture
    assert convert_cached(source, cache) == second  # and then it is reused


def test_the_cache_sees_an_edited_mtl(tmp_path):
    obj, _ = obj_files(tmp_path)
    (texture,) = tmp_path.glob("*.png")
    cache = tmp_path / "cache"
    first = convert_cached(obj, cache)
    (tmp_path / "other.png").write_bytes(png_bytes((0, 0, 255)))
    mtl = tmp_path / "material.mtl"
    mtl.write_text(mtl.read_text().replace(texture.name, "other.png"))
    second = convert_cached(obj, cache)
    assert second != first and load_cached(second)[1] == png_bytes((0, 0, 255))


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2 - 1])


DAMAGE = {
    "model json garbage": ("t.json", lambda p: p.write_text("{garbage")),
    "model json emptied": ("t.json", lambda p: p.write_bytes(b"")),
    "materials garbage": ("t-mat.json", lambda p: p.write_text("[1, 2")),
    "materials missing": ("t-mat.json", os.unlink),
    ".vtx truncated": ("t.vtx", _truncate),
    ".vtx missing": ("t.vtx", os.unlink),
    ".vtx a folder": ("t.vtx", lambda p: (os.unlink(p), p.mkdir())),
    ".idx truncated": ("t.idx", _truncate),
    ".idx emptied": ("t.idx", lambda p: p.write_bytes(b"")),
    ".idx flipped bits": ("t.idx", lambda p: p.write_bytes(b"\xff" * p.stat().st_size)),
    "texture truncated": ("tex.png", _truncate),
    "texture missing": ("tex.png", os.unlink),
    "manifest missing": (MANIFEST, os.unlink),
    "manifest garbage": (MANIFEST, lambda p: p.write_text("[" * 100_000)),
    "the entry a file": ("", lambda p: (shutil.rmtree(p), p.write_text("not a folder"))),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_cache_entry_is_rebuilt(tmp_path, damage):
    source = textured_gltf(tmp_path / "in")
    cache = tmp_path / "cache"
    first = convert_cached(source, cache)
    expected = load_cached(first)
    name, spoil = DAMAGE[damage]
    spoil(first.parent / name if name else first.parent)
    again = convert_cached(source, cache)
    vertices, texture = load_cached(again)
    assert np.array_equal(vertices, expected[0]) and texture == expected[1] == png_bytes()
    assert [p.name for p in cache.iterdir()] == [again.parent.name]


def test_four_processes_heal_a_damaged_entry_together(tmp_path):
    glb = tmp_path / "box.glb"
    glb.write_bytes(textured_box()[0].export(file_type="glb"))
    cache = tmp_path / "cache"
    model = convert_cached(glb, cache)
    (model.parent / "box.vtx").write_bytes(b"\0" * 7)
    convert_at_once(glb, cache)
    [folder] = list(cache.iterdir())
    load_converted(folder / "box.json")
