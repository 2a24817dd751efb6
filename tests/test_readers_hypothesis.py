"""Property-based tests of the readers (Hypothesis): whatever a scene, model, material or cfg
file holds, it loads or raises the reader's one-line error (ModelError / ConfigError), never
another exception or a numpy warning."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eng.com import common
from eng.geometry_files import load_geometry
from eng.json_fields import ModelError
from eng.model_data import load_materials, load_model
from eng.scene_data import load_scene

from .test_model_data import write_model, write_scene

SETTINGS = settings(
    max_examples=int(os.environ.get("ZVK_HYPOTHESIS_EXAMPLES", "60")),  # `make fuzz`: more
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

# JSON values, NaN, infinities and huge integers included (Python's json writes them all)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-10, max_value=200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10**400, -(10**400), 1e300, 3.5e38, 0.0, -0.0, 1e-320]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8))
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=20,
)
KEYS = {
    "scene": ["models", "entities", "camera", "id", "model", "pos", "rotation", "scale", "yaw"],
    "model": ["id", "meshes", "items", "idxOffset", "idxSize", "vtxOffset", "vtxSize"],
    "materials": ["items", "id", "texturePath", "color", "capacity"],
}


def document(kind: str):
    """A valid file of `kind` with some of its values replaced by arbitrary ones."""
    return st.tuples(
        st.lists(st.tuples(st.sampled_from(KEYS[kind]), values), max_size=4), st.integers(0, 3)
    )


def damage(doc, replacements, depth):
    """Puts each (key, value) of `replacements` where `key` occurs at nesting `depth` or the
    nearest level above it (or at the top)."""
    for key, value in replacements:
        node, level = doc, 0
        while level < depth:
            inner = [v for v in (node.values() if isinstance(node, dict) else node)
                     if isinstance(v, dict | list)]  # fmt: skip
            if not inner:
                break
            node, level = inner[0], level + 1
        if isinstance(node, dict):
            node[key] = value
        elif node:
            node[0] = value
    return doc


def check(load, path: Path) -> None:
    try:
        load(path)
    except ModelError as exc:
        assert "\n" not in str(exc) and str(exc).strip()


def load_everything(path: Path) -> None:
    for model in load_scene(path).models:
        load_geometry(model)


@SETTINGS
@given(changes=document("scene"))
def test_any_scene_loads_or_is_a_model_error(tmp_path, changes):
    path = write_scene(tmp_path)
    doc = damage(json.loads(path.read_text()), *changes)
    path.write_text(json.dumps(doc))
    check(load_everything, path)


@SETTINGS
@given(changes=document("model"), vtx=st.binary(max_size=80))
def test_any_model_loads_or_is_a_model_error(tmp_path, changes, vtx):
    path = write_model(tmp_path, vtx=vtx or np.zeros(15, "<f4").tobytes())
    path.write_text(json.dumps(damage(json.loads(path.read_text()), *changes)))
    check(lambda p: load_geometry(load_model(p)), path)


@SETTINGS
@given(changes=document("materials"))
def test_any_materials_file_loads_or_is_a_model_error(tmp_path, changes):
    write_model(tmp_path)
    path = tmp_path / "m-mat.json"
    path.write_text(json.dumps(damage(json.loads(path.read_text()), *changes)))
    check(load_materials, path)


@SETTINGS
@given(data=st.binary(max_size=200))
def test_any_bytes_as_a_scene_are_a_model_error_or_load(tmp_path, data):
    path = write_scene(tmp_path)
    path.write_bytes(data)
    check(load_everything, path)


toml_values = st.one_of(
    st.sampled_from(["nan", "-inf", "inf", "1e400", "9" * 400, "0x7fffffffffffffff", "1_000"]),
    st.integers().map(str),
    st.floats().map(lambda f: repr(f).replace("nan", "nan").replace("inf", "inf")),
    st.sampled_from(["true", "'x'", "[1, 2]", "{a = 1}", "[[1]]", "1979-05-27", '"""x"""']),
    st.text(max_size=10),
)
toml_keys = st.sampled_from([*common._KEYS, "other", "a.b", "'q'"])


@SETTINGS
@given(lines=st.lists(st.tuples(toml_keys, toml_values), max_size=6))
def test_any_cfg_loads_or_is_a_config_error(tmp_path, lines):
    path = tmp_path / "cfg.toml"
    path.write_text("".join(f"{key} = {value}\n" for key, value in lines))
    try:
        constants = common.load(path)
    except common.ConfigError as exc:
        assert "\n" not in str(exc) and "cfg.toml" in str(exc)
    else:
        common.check(constants, "again")  # what loads is usable
