"""`python -m game` as a user runs it: screenshots, the no-display fallback, clear errors."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from .helpers import CRATE, ROOT, book_file


def run_game(*args, cwd=None, env_changes=None, timeout=120):
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.update(env_changes or {})
    return subprocess.run(
        [sys.executable, "-m", "game", *args],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(result, *words):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_help_lists_the_options():
    result = run_game("--help")
    assert result.returncode == 0
    for option in (
        "--config",
        "--size",
        "--gpu",
        "--list-gpus",
        "--validation",
        "--vsync",
        "--info",
        "--log-level",
        "--debug",
        "--headless",
        "--frames",
        "--screenshot",
        "--scene",
        "--view",
    ):
        assert option in result.stdout


@pytest.mark.parametrize(
    "model",
    [CRATE, pytest.param(book_file("cube", "cube.json"), marks=pytest.mark.book_data)],
    ids=["crate", "book-cube"],
)
def test_headless_screenshot_of_a_model(tmp_path, model):
    out = tmp_path / "shot.png"
    result = run_game(
        "--headless",
        "--validation",
        "--frames",
        "2",
        "--size",
        "200x150",
        "--scene",
        str(model),
        "--screenshot",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr and "ERROR" not in result.stderr, result.stderr
    image = np.asarray(Image.open(out))
    assert image.shape == (150, 200, 3)
    assert image.std() > 10


def test_without_a_display_it_falls_back_to_headless(tmp_path):
    existing = tmp_path / "keep.png"
    existing.write_bytes(b"user data")
    result = run_game("--frames", "1", "--size", "64x48", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no window (" in result.stderr and "rendering headless" in result.stderr
    written = [p for p in tmp_path.glob("*.png") if p != existing]
    assert len(written) == 1 and written[0].name in result.stderr
    assert existing.read_bytes() == b"user data"
    assert Image.open(written[0]).size == (64, 48)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--size", "12by5"], ["--size", "12by5"]),
        (["--frames", "0"], ["--frames"]),
        (["--frames", "-3"], ["--frames"]),
        (["--no-such-option"], ["--no-such-option"]),
        (["--headless", "--screenshot", "/nonexistent/dir/x.png"], ["/nonexistent/dir"]),
        (["--headless", "--scene", "/nonexistent/model.json"], ["/nonexistent/model.json"]),
        (["--gpu"], ["--gpu"]),
    ],
)
def test_bad_command_lines_get_one_clear_line(args, words):
    result = run_game(*args)
    assert_one_line_error(result, *words)
