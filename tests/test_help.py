"""Every command of the project answers --help (and -h) with its usage and does nothing else:
the game, the benchmark, the book's data, the converter, the scripts."""

import os
import subprocess
import sys

import pytest

from .helpers import ROOT, files_under
from .test_cli import assert_one_line_error

HELP_COMMANDS = {  # every __main__ of the project but the game (below)
    "game.bench": [sys.executable, "-m", "game.bench"],
    "game.book_data": [sys.executable, "-m", "game.book_data"],
    "eng.model_gen": [sys.executable, "-m", "eng.model_gen"],
    "shader_watch": [sys.executable, "-m", "eng.extras.shader_watch"],
    "soak": [sys.executable, str(ROOT / "scripts" / "soak.py")],
    "make_default_scene": [sys.executable, str(ROOT / "scripts" / "make_default_scene.py")],
    "cluster_experiment": [sys.executable, str(ROOT / "scripts" / "cluster_experiment.py")],
    "adversarial": [sys.executable, str(ROOT / "scripts" / "adversarial.py")],
    "trace_screenshot": [sys.executable, str(ROOT / "scripts" / "trace_screenshot.py")],
    "device_bench.sh": ["bash", str(ROOT / "scripts" / "device_bench.sh")],
    "setup.sh": ["bash", str(ROOT / "scripts" / "setup.sh")],
}


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("name", sorted(HELP_COMMANDS))
def test_every_command_answers_help_and_does_nothing_else(tmp_path, name, flag):
    """Usage on stdout, status 0, nothing written (the folder it runs in, the user's home,
    data and cache folders stay empty) and nothing run (no other output, no time taken)."""
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(home))
    for variable in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        env[variable] = str(home / variable)
    result = subprocess.run(
        [*HELP_COMMANDS[name], flag],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.lower().startswith("usage:") or "\nusage:" in result.stdout.lower()
    assert result.stderr == ""
    assert files_under(tmp_path) == []


def test_a_shell_script_refuses_an_unknown_argument(tmp_path):
    for name in ("device_bench.sh", "setup.sh"):
        result = subprocess.run(
            [*HELP_COMMANDS[name], "--frames"], cwd=tmp_path, capture_output=True, text=True
        )
        assert_one_line_error(result, "--frames", "--help")
        assert result.returncode == 2


def test_bench_takes_an_out_dir_and_checks_it_first(tmp_path):
    result = subprocess.run(
        [*HELP_COMMANDS["game.bench"], "--out-dir", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_line_error(result, "--out-dir", "missing")
    assert result.returncode == 2 and result.stdout == ""
