"""`python -m game` as a user runs it: screenshots, the no-display fallback, clear errors, a
--help that explains it, --version, the GPUs by index, where files go, --camera."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from .helpers import CRATE, ROOT, book_file, files_under


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


# --- a command line that explains itself ----------------------------------------------------

QUICK = ["--headless", "--frames", "1", "--size", "32x24"]


def test_usage_names_the_command_that_was_run():
    assert run_game("--help").stdout.startswith("usage: python -m game ")
    # what the installed `zvk` script runs (pyproject.toml: zvk = "game.cli:main")
    script = "import sys; from game.cli import main; sys.exit(main())"
    result = subprocess.run(
        [sys.executable, "-c", script, "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith("usage: zvk "), result.stdout
    assert "python -m game" not in result.stdout.splitlines()[0]


def test_help_lists_the_keys():
    text = run_game("--help").stdout
    keys = text[text.index("keys (in the window):") :]
    for key in ("W / S", "A / D", "Up / Down", "right-drag", "M ", "F12", "Escape"):
        assert f"\n  {key}" in keys, key


def test_help_shows_every_default():
    from game.options import build_parser, cfg_settings

    parser = build_parser()
    commands = {"-h", "--version", "--info", "--list-gpus"}  # they do something and exit
    for action in parser._actions:
        if action.option_strings and not commands & set(action.option_strings):
            assert "default" in action.help, action.option_strings
    cfg = cfg_settings()
    text = " ".join(run_game("--help").stdout.split())  # unwrapped
    for key in ("validation", "vsync"):
        shown = "on" if cfg[key] else "off"
        assert f"'{key}'; default: cfg.toml's value, {shown})" in text, key
    for default in ("(default: 1280x720)", "(default: on, as the book)", "(default: warning)"):
        assert default in text
    assert "--culling, --no-culling" in text and "(default: False)" not in text


def test_help_and_bad_options_load_no_engine():
    code = (
        "import sys; from game.cli import main\n"
        "try: main(['--help'])\n"
        "except SystemExit: pass\n"
        "print(sorted(m for m in sys.modules if m in ('vulkan', 'numpy', 'eng.vk.vma')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout


def test_version_is_the_package_version(monkeypatch):
    import importlib.metadata
    import tomllib

    from game.options import package_version

    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = run_game("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"zvk-py {expected}"

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert package_version() == f"{expected} (not installed: a source tree)"


# --- the GPU by index ------------------------------------------------------------------------

GPU_LINE = re.compile(
    r"(\d+): (.+) \((discrete GPU|integrated GPU|virtual GPU|CPU|other), "
    r"(\d+\.\d) GiB device-local memory, driver (.+), Vulkan (\d+\.\d+\.\d+)\)"
)


def test_list_gpus_gives_index_type_memory_driver_and_api_version():
    result = run_game("--list-gpus")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines
    for index, line in enumerate(lines):
        match = GPU_LINE.fullmatch(line)
        assert match, line
        assert int(match[1]) == index and float(match[4]) > 0 and match[5].strip()


def test_gpu_takes_an_index_of_the_list():
    first = GPU_LINE.fullmatch(run_game("--list-gpus").stdout.splitlines()[0])
    result = run_game("--headless", "--frames", "1", "--size", "32x24", "--gpu", "0", "-v", "info")
    assert result.returncode == 0, result.stderr
    assert f"using device '{first[2]}'" in result.stderr
    count = len(run_game("--list-gpus").stdout.strip().splitlines())
    result = run_game("--headless", "--frames", "1", "--gpu", str(count))
    assert_one_line_error(result, f"--gpu {count}", "--list-gpus")
    assert result.returncode == 2


# --- where files go ---------------------------------------------------------------------------


def test_the_no_display_fallback_writes_into_out_dir_and_says_where(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = run_game("--frames", "1", "--size", "32x24", "--out-dir", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (written,) = out.glob("zvk-screenshot-*.png")
    assert f"rendering headless into {written}" in result.stderr  # absolute
    assert f"screenshot: {written}\n" in result.stdout
    assert files_under(tmp_path) == [f"out/{written.name}"]


def test_a_relative_screenshot_is_printed_with_its_absolute_path(tmp_path):
    result = run_game("--headless", "--frames", "1", "--size", "32x24", "--screenshot", "s.png",
                      cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"screenshot: {tmp_path / 's.png'}\n" in result.stdout


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_out_dir_is_checked_before_anything_runs(tmp_path, kind):
    folder = tmp_path / "out"
    if kind == "file":
        folder.write_text("not a folder")
    result = run_game("--frames", "1", "--size", "32x24", "--out-dir", str(folder))
    assert_one_line_error(result, "--out-dir", str(folder))
    assert result.returncode == 2 and "frames in" not in result.stdout


def test_make_run_keeps_the_files_of_the_keys_out_of_the_checkout():
    result = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "-m game --out-dir build/out" in result.stdout


def test_start_the_camera_anywhere(tmp_path):
    result = run_game(*QUICK, "--camera", "1,2,3,45,-10", "-v", "info")
    assert result.returncode == 0, result.stderr
    assert "camera at the end: --camera 1.00,2.00,3.00,45.0,-10.0" in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--camera", "1,2"], ["--camera", "1,2"]),
        (["--camera", "1,2,x"], ["--camera", "1,2,x"]),
        (["--camera", "1,2,3,4"], ["--camera", "1,2,3,4"]),
        (["--camera", "1,2,inf"], ["--camera", "1,2,inf"]),
        (["--camera", "1,2,3", "--stress", "10"], ["--camera", "--stress"]),
        (["--gpu", "-1"], ["--gpu", "-1"]),
        (["--seconds", "1"], ["--seconds", "--bench"]),
        (["--warmup", "1"], ["--warmup", "--bench"]),
        (["--seconds", "0", "--bench", "b.json"], ["--seconds"]),
        (["--seconds", "nan", "--bench", "b.json"], ["--seconds"]),
        (["--warmup", "-1", "--bench", "b.json"], ["--warmup"]),
        (["--frames", "3", "--seconds", "1", "--bench", "b.json"], ["--seconds", "--frames"]),
        (["--fullscreen"], ["--fullscreen", "--headless"]),
    ],
)
def test_bad_new_options_get_one_clear_line(tmp_path, args, words):
    result = run_game("--headless", "--size", "32x24", *args, cwd=tmp_path)
    assert_one_line_error(result, *words)
    assert result.returncode == 2 and files_under(tmp_path) == []
