"""eng.model_gen: glTF / GLB / OBJ -> the book's format, on models made here and the book's cube."""

from __future__ import annotations

import os
import subprocess
import sys
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
    assert first.parent.parent == cache and len(first.parent.name) == 16
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
