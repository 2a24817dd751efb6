"""A non-editable install: the wheel holds what the game needs and runs from another folder.
A checkout (or an editable install) reads resources/ and shaders/ in place."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from eng.com import paths
from eng.vk._vma_build import find_include_dir

from .helpers import ROOT


def test_a_checkout_reads_its_top_level_folders():
    assert paths.RES_DIR == ROOT / "resources"
    assert paths.SHADERS_DIR == ROOT / "shaders"


def test_the_wheel_renders_headless_from_another_folder(tmp_path):
    source = tmp_path / "source"  # the committed files only, as a clone has them
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in tracked)):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, VMA_INCLUDE_DIR=find_include_dir() or ""),
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("zvk_py-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    for needed in (
        "eng/resources/cfg.toml",
        "eng/resources/scene/scene.json",
        "eng/resources/scene/crate/crate.png",
        "eng/shaders/scn_vtx.glsl",
        "eng/shaders/scn_vtx.spv",
        "eng/shaders/scn_frg.spv",
        "eng/shaders/scn_inst_vtx.spv",
        "game/book_data.json",
    ):
        assert needed in names, needed
    assert any(n.startswith("eng/vk/_vma") and n.endswith(".so") for n in names)
    assert "zvk = game.cli:main" in entry_points

    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site)]
        + [str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site))
    code = "import game, sys; from game.cli import main; print(game.__file__); sys.exit(main())"
    run = subprocess.run(
        [sys.executable, "-c", code, "--headless", "--frames", "2", "--size", "96x64"]
        + ["--screenshot", "out.png", "--validation"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert Path(run.stdout.splitlines()[0]).is_relative_to(site)  # not this checkout
    image = np.asarray(Image.open(elsewhere / "out.png"))
    assert image.shape == (64, 96, 3) and image.std() > 10
