"""The project's own default scene (resources/scene), committed and reproducible."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image

from eng.geometry_files import load_geometry
from eng.scene_data import load_scene

ROOT = Path(__file__).parents[1]
SCENE = ROOT / "resources" / "scene"


def test_default_scene_loads() -> None:
    scene = load_scene(SCENE / "scene.json")
    assert len(scene.models) >= 4
    for model in scene.models:
        vertices, indices = load_geometry(model)
        assert len(vertices) and len(indices)
    textured = [m for m in scene.materials if m.texture_path is not None]
    assert textured and len(textured) < len(scene.materials)
    for material in textured:
        assert material.texture_path.is_file()
        width, height = Image.open(material.texture_path).size
        assert width & (width - 1) == 0 and height & (height - 1) == 0
    assert {e.model_id for e in scene.entities} == {m.id for m in scene.models}


def test_ground_texture_repeats() -> None:
    scene = load_scene(SCENE / "scene.json")
    ground = next(m for m in scene.models if m.id == "ground")
    vertices, _ = load_geometry(ground)
    assert vertices[:, 3:].max() > 1  # needs a repeat sampler


def test_default_scene_is_small() -> None:
    total = sum(p.stat().st_size for p in SCENE.rglob("*") if p.is_file())
    assert total < 5 * 1024 * 1024


def test_regenerating_gives_identical_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_default_scene.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    committed = sorted(p.relative_to(SCENE) for p in SCENE.rglob("*") if p.is_file())
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert committed == generated
    for rel in committed:
        if rel.suffix in (".vtx", ".idx", ".json"):
            assert (tmp_path / rel).read_bytes() == (SCENE / rel).read_bytes(), rel
