"""eng.model_data: the book's model format, loaded and validated (no GPU needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eng.geometry_files import load_geometry
from eng.json_fields import ModelError
from eng.model_data import check_materials, load_materials, load_model, materials_path_for
from eng.scene_data import load_scene

from .helpers import CRATE, book_file


def test_project_crate() -> None:
    model = load_model(CRATE)
    materials = load_materials(materials_path_for(CRATE))
    check_materials(model, materials)
    vertices, indices = load_geometry(model)
    assert model.id == "crate"
    assert model.vtx_path == CRATE.with_suffix(".vtx") and model.vtx_path.is_file()
    assert vertices.shape == (24, 5) and vertices.dtype == np.float32
    assert indices.shape == (36,) and indices.dtype == np.uint32
    assert materials[0].texture_path == CRATE.parent / "crate.png"
    assert materials[0].color == (1.0, 1.0, 1.0, 1.0)


@pytest.mark.book_data
def test_book_cube() -> None:
    model = load_model(book_file("cube", "cube.json"))
    materials = load_materials(materials_path_for(book_file("cube", "cube.json")))
    check_materials(model, materials)
    vertices, indices = load_geometry(model)
    assert model.id == "cube"
    assert model.vtx_path.name == "cube.vtx" and model.vtx_path.is_file()
    assert vertices.shape == (36, 5) and vertices.dtype == np.float32
    assert indices.shape == (36,) and indices.dtype == np.uint32
    assert materials[0].texture_path == book_file("cube", "cube_base.png")
    assert materials[0].color == (1.0, 1.0, 1.0, 1.0)


@pytest.mark.book_data
def test_book_sponza() -> None:
    path = book_file("sponza", "Sponza.json")
    model = load_model(path)
    materials = load_materials(materials_path_for(path))
    check_materials(model, materials)
    vertices, indices = load_geometry(model)
    assert len(model.meshes) == 103
    assert vertices.shape == (192_496, 5)
    assert indices.shape == (786_801,)
    assert len(materials) == 25
    assert all(m.texture_path is not None and m.texture_path.is_file() for m in materials)


# --- bad inputs: a small valid model, then one thing broken at a time ----------------------


def write_model(
    folder: Path,
    mesh: dict | None = None,
    model: dict | None = None,
    vtx: bytes | None = None,
    idx: bytes | None = None,
    materials: object = None,
) -> Path:
    """A one-triangle model in `folder`; the keyword arguments override parts of it."""
    (folder / "m.vtx").write_bytes(vtx if vtx is not None else np.zeros(15, "<f4").tobytes())
    (folder / "m.idx").write_bytes(idx if idx is not None else np.arange(3, dtype="<u4").tobytes())
    item = {"id": "mesh-0", "materialId": "mat-0", "idxOffset": 0, "idxSize": 12}
    item |= {"vtxOffset": 0, "vtxSize": 60} | (mesh or {})
    doc = {"id": "m", "meshes": {"items": [item], "capacity": 1}}
    doc |= {"idxFilename": "m.idx", "vtxFilename": "m.vtx"} | (model or {})
    if materials is None:
        materials = {"items": [{"id": "mat-0", "texturePath": "", "color": [1, 0, 0, 1]}]}
    (folder / "m-mat.json").write_text(json.dumps(materials))
    path = folder / "m.json"
    path.write_text(json.dumps(doc))
    return path


def load_all(path: Path) -> None:
    model = load_model(path)
    check_materials(model, load_materials(materials_path_for(path)))
    load_geometry(model)


def assert_error(path: Path, expected_file: str, words: str) -> None:
    with pytest.raises(ModelError) as info:
        load_all(path)
    message = str(info.value)
    assert "\n" not in message
    assert expected_file in message, message
    assert words in message, message


def test_small_model_is_valid(tmp_path: Path) -> None:
    load_all(write_model(tmp_path))


def test_plain_lists_are_accepted(tmp_path: Path) -> None:
    path = write_model(tmp_path, materials=[{"id": "mat-0", "texturePath": "", "color": [1] * 4}])
    doc = json.loads(path.read_text())
    doc["meshes"] = doc["meshes"]["items"]
    path.write_text(json.dumps(doc))
    load_all(path)


def test_book_style_paths_resolve_in_the_model_folder(tmp_path: Path) -> None:
    path = write_model(
        tmp_path,
        model={"idxFilename": ".\\res\\models\\m/m.idx", "vtxFilename": "res/models/m/m.vtx"},
        materials=[{"id": "mat-0", "texturePath": "res\\models\\m\\t.png", "color": [1] * 4}],
    )
    model = load_model(path)
    assert model.vtx_path == tmp_path / "m.vtx" and model.idx_path == tmp_path / "m.idx"
    # A missing texture is not an error: the texture cache falls back to the colour.
    assert load_materials(materials_path_for(path))[0].texture_path == tmp_path / "t.png"


def test_missing_model_file(tmp_path: Path) -> None:
    assert_error(tmp_path / "nope.json", "nope.json", "not found")


def test_missing_materials_file(tmp_path: Path) -> None:
    path = write_model(tmp_path)
    (tmp_path / "m-mat.json").unlink()
    assert_error(path, "m-mat.json", "not found")


@pytest.mark.parametrize("name", ["m.vtx", "m.idx"])
def test_missing_data_file(tmp_path: Path, name: str) -> None:
    path = write_model(tmp_path)
    (tmp_path / name).unlink()
    assert_error(path, "m.json", "not found")


def test_unreadable_data_file(tmp_path: Path) -> None:
    path = write_model(tmp_path)
    (tmp_path / "m.vtx").unlink()
    (tmp_path / "m.vtx").mkdir()  # exists, but cannot be read as a file
    assert_error(path, "m.vtx", "is a folder, not a regular file")


@pytest.mark.parametrize("text", ["{not json", "", "\xff\xfe"])
def test_malformed_json(tmp_path: Path, text: str) -> None:
    path = write_model(tmp_path)
    path.write_bytes(text.encode("latin-1"))
    assert_error(path, "m.json", "malformed JSON")


def test_malformed_materials_json(tmp_path: Path) -> None:
    path = write_model(tmp_path)
    (tmp_path / "m-mat.json").write_text("[{]")
    assert_error(path, "m-mat.json", "malformed JSON")


@pytest.mark.parametrize("key", ["id", "materialId", "idxOffset", "idxSize", "vtxOffset"])
def test_missing_mesh_key(tmp_path: Path, key: str) -> None:
    path = write_model(tmp_path)
    doc = json.loads(path.read_text())
    del doc["meshes"]["items"][0][key]
    path.write_text(json.dumps(doc))
    assert_error(path, "m.json", f"no '{key}'")


@pytest.mark.parametrize("key", ["id", "meshes", "vtxFilename", "idxFilename"])
def test_missing_model_key(tmp_path: Path, key: str) -> None:
    path = write_model(tmp_path)
    doc = json.loads(path.read_text())
    del doc[key]
    path.write_text(json.dumps(doc))
    assert_error(path, "m.json", f"no '{key}'")


@pytest.mark.parametrize(
    ("mesh", "words"),
    [
        ({"vtxSize": 60.0}, "not an integer"),
        ({"idxOffset": "0"}, "not an integer"),
        ({"idxSize": True}, "not an integer"),
        ({"vtxOffset": -20}, "negative"),
        ({"id": 3}, "not a string"),
        ({"materialId": None}, "not a string"),
    ],
)
def test_wrong_mesh_types(tmp_path: Path, mesh: dict, words: str) -> None:
    assert_error(write_model(tmp_path, mesh=mesh), "m.json", words)


def test_mesh_not_an_object(tmp_path: Path) -> None:
    path = write_model(tmp_path)
    doc = json.loads(path.read_text())
    doc["meshes"]["items"] = [42]
    path.write_text(json.dumps(doc))
    assert_error(path, "m.json", "not a JSON object")


def test_vtx_size_not_multiple_of_20(tmp_path: Path) -> None:
    assert_error(write_model(tmp_path, vtx=bytes(61)), "m.vtx", "not a multiple of 20")


def test_idx_size_not_multiple_of_4(tmp_path: Path) -> None:
    assert_error(write_model(tmp_path, idx=bytes(13)), "m.idx", "not a multiple of 4")


@pytest.mark.parametrize(
    ("mesh", "words"),
    [
        ({"vtxOffset": 4}, "vtxOffset (4) is not a multiple of 20"),
        ({"vtxSize": 50}, "vtxSize (50) is not a multiple of 20"),
        ({"idxOffset": 2}, "idxOffset (2) is not a multiple of 4"),
        ({"idxSize": 10}, "idxSize (10) is not a multiple of 4"),
        ({"vtxSize": 80}, "vtxOffset+vtxSize (80) is past the end of m.vtx (60 bytes)"),
        ({"idxOffset": 4}, "idxOffset+idxSize (16) is past the end of m.idx (12 bytes)"),
    ],
)
def test_bad_mesh_ranges(tmp_path: Path, mesh: dict, words: str) -> None:
    assert_error(write_model(tmp_path, mesh=mesh), "m.json", words)


def test_index_count_not_multiple_of_3(tmp_path: Path) -> None:
    idx = np.arange(4, dtype="<u4").tobytes()
    path = write_model(tmp_path, mesh={"idxSize": 16}, idx=idx)
    assert_error(path, "m.json", "4 indices, not a multiple of 3")


def test_index_past_the_mesh_vertices(tmp_path: Path) -> None:
    idx = np.array([0, 1, 3], dtype="<u4").tobytes()
    assert_error(write_model(tmp_path, idx=idx), "m.json", "index 3 is out of range")


def test_index_checked_against_its_own_mesh(tmp_path: Path) -> None:
    """Two meshes: the second has 2 vertices only, so its index 2 is out of range."""
    path = write_model(tmp_path, vtx=np.zeros(25, "<f4").tobytes())
    doc = json.loads(path.read_text())
    second = {"id": "mesh-1", "materialId": "mat-0", "idxOffset": 0, "idxSize": 12}
    doc["meshes"]["items"].append(second | {"vtxOffset": 60, "vtxSize": 40})
    path.write_text(json.dumps(doc))
    assert_error(path, "m.json", "mesh 'mesh-1' index 2 is out of range")


@pytest.mark.parametrize(
    "mesh", [{"idxSize": 0}, {"idxSize": 0, "vtxSize": 0}], ids=["no indices", "nothing"]
)
def test_a_model_with_no_triangle_is_refused(tmp_path: Path, mesh: dict) -> None:
    """Its index buffer would have 0 bytes: before, VMA's 'vmaCreateBuffer failed'."""
    assert_error(write_model(tmp_path, mesh=mesh), "m.json", "has no triangles to draw")


def test_duplicate_mesh_ids(tmp_path: Path) -> None:
    path = write_model(tmp_path)
    doc = json.loads(path.read_text())
    doc["meshes"]["items"].append(doc["meshes"]["items"][0])
    path.write_text(json.dumps(doc))
    assert_error(path, "m.json", "duplicate mesh id 'mesh-0'")


def test_unknown_material(tmp_path: Path) -> None:
    path = write_model(tmp_path, mesh={"materialId": "mat-9"})
    assert_error(path, "m.json", "material 'mat-9'")


def test_duplicate_material_ids(tmp_path: Path) -> None:
    item = {"id": "mat-0", "texturePath": "", "color": [1, 1, 1, 1]}
    assert_error(write_model(tmp_path, materials=[item, item]), "m-mat.json", "duplicate material")


@pytest.mark.parametrize("color", [[1, 1, 1], [1, 1, 1, "x"], [1, 1, 1, True], "red", None])
def test_bad_color(tmp_path: Path, color: object) -> None:
    materials = [{"id": "mat-0", "texturePath": "", "color": color}]
    assert_error(write_model(tmp_path, materials=materials), "m-mat.json", "'color'")


def test_bad_texture_path_type(tmp_path: Path) -> None:
    materials = [{"id": "mat-0", "texturePath": 5, "color": [1, 1, 1, 1]}]
    assert_error(write_model(tmp_path, materials=materials), "m-mat.json", "not a string")


# --- scene files ---------------------------------------------------------------------------


def write_scene(folder: Path, **changes: object) -> Path:
    write_model(folder)
    doc = {
        "models": ["m.json"],
        "entities": [{"id": "e", "model": "m", "pos": [1, 2, 3]}],
        "camera": {"pos": [0, 1, 5], "pitch": -10, "yaw": -90},
    } | changes
    path = folder / "scene.json"
    path.write_text(json.dumps(doc))
    return path


def test_scene(tmp_path: Path) -> None:
    scene = load_scene(write_scene(tmp_path))
    assert [m.id for m in scene.models] == ["m"]
    assert [m.id for m in scene.materials] == ["mat-0"]
    entity = scene.entities[0]
    assert entity.model_id == "m" and entity.pos == (1.0, 2.0, 3.0)
    assert entity.rotation == (0.0, 0.0, 0.0) and entity.scale == 1.0
    assert scene.camera.pos == (0.0, 1.0, 5.0) and scene.camera.yaw == -90.0


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"entities": [{"id": "e", "model": "x", "pos": [0, 0, 0]}]}, "model 'x'"),
        ({"entities": [{"id": "e", "model": "m", "pos": [0, 0]}]}, "'pos' is not 3 numbers"),
        ({"entities": [{"id": "e", "model": "m", "pos": [0] * 3, "scale": 0}]}, "'scale'"),
        ({"entities": [{"id": "e", "model": "m", "pos": [0] * 3, "rotation": 5}]}, "'rotation'"),
        ({"entities": [{"id": "e", "model": "m", "pos": [0] * 3}] * 2}, "duplicate entity"),
        ({"models": ["m.json", "m.json"]}, "duplicate model"),
        ({"models": [3]}, "not a string"),
        ({"camera": {"pos": [0, 0, 0], "yaw": 0}}, "no 'pitch'"),
        ({"entities": {}}, "not a list"),
    ],
)
def test_bad_scene(tmp_path: Path, changes: dict, words: str) -> None:
    path = write_scene(tmp_path, **changes)
    with pytest.raises(ModelError, match="scene.json") as info:
        load_scene(path)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_scene_with_a_missing_model(tmp_path: Path) -> None:
    path = write_scene(tmp_path, models=["gone/x.json"])
    with pytest.raises(ModelError, match="x.json: file not found"):
        load_scene(path)
