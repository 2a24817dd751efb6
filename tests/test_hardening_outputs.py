"""The hardening issue's classes 4, 6 and 8 held at their mechanism: the standard streams'
guard and the signal policy (game/cli.py, eng/com/interrupts.py), the one output-path helper
(game/options.py output_path / check_outputs), the sweep of atomic_write's leftovers
(eng/com/safe_io.py remove_stale_writes) and the messages of cfg.toml and --scene."""

import os
import signal
import subprocess
import sys
import time

import pytest

from eng.com import common

from .helpers import ROOT
from .test_cli import assert_one_line_error, run_game

QUICK = ["--headless", "--frames", "1", "--size", "16x12"]


def _game(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "game", *args],
        cwd=kwargs.pop("cwd", ROOT),
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        **kwargs,
    )


# --- class 4: streams, signals, paths ----------------------------------------------------------


@pytest.mark.parametrize("option", ["--screenshot", "--vma-map", "--bench", "--vma-report"])
def test_an_over_long_output_name_is_one_usage_line(tmp_path, option):
    result = run_game(*QUICK, option, "a" * 300 + ".png", cwd=tmp_path)
    assert_one_line_error(result, option, "255 bytes")
    assert result.returncode == 2


def test_stdout_on_dev_full_is_one_line_and_status_1(tmp_path):
    with open("/dev/full", "w") as full:
        proc = _game("--help", stdout=full, stderr=subprocess.PIPE, text=True)
        err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert err.strip().splitlines() == [
        "error: cannot write to standard output (No space left on device)"
    ]


def test_a_closed_pipe_is_one_line_not_a_traceback():
    proc = _game("--help", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # the reader is gone, as `| head -1` after its line
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 1 and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1


def test_non_ascii_output_on_an_ascii_stream_is_escaped(tmp_path):
    result = run_game(
        *QUICK, "--screenshot", "é.png", cwd=tmp_path, env_changes={"PYTHONIOENCODING": "ascii"}
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "\\xe9.png" in result.stdout and (tmp_path / "é.png").is_file()


def test_a_closed_stderr_still_renders(tmp_path):
    proc = subprocess.run(  # 2>&-: the texture loader's isatty() failed with nothing shown
        [sys.executable, "-m", "game", *QUICK, "--screenshot", "s.png"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stderr=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        timeout=120,
        pass_fds=(),
        preexec_fn=lambda: os.close(2),
    )
    assert proc.returncode == 0 and (tmp_path / "s.png").is_file(), proc.stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
def test_stop_signals_clean_up_and_exit_128_plus_the_signal(tmp_path, sig):
    proc = _game(
        "--headless",
        "--frames",
        "100000",
        "--size",
        "32x24",
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    time.sleep(4)
    proc.send_signal(sig)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 128 + sig, err
    assert err.strip().splitlines() == [f"stopped by {sig.name}"]


# --- class 6: leftovers and lost outputs -------------------------------------------------------


def test_the_same_file_for_two_outputs_is_refused(tmp_path):
    result = run_game(*QUICK, "--screenshot", "x.png", "--vma-map", "./x.png", cwd=tmp_path)
    assert_one_line_error(result, "--screenshot and --vma-map", "x.png")
    assert result.returncode == 2 and list(tmp_path.iterdir()) == []


def test_an_output_link_is_written_through(tmp_path):
    (tmp_path / "link.png").symlink_to("target.png")
    result = run_game(*QUICK, "--screenshot", "link.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "link.png").is_symlink() and (tmp_path / "target.png").is_file()


def test_a_killed_runs_temporary_file_is_swept(tmp_path):
    from eng.com.safe_io import remove_stale_writes

    stale, fresh = tmp_path / ".x.png.abcdefgh.tmp", tmp_path / ".x.png.ijklmnop.tmp"
    for path in (stale, fresh):
        path.write_bytes(b"half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    (tmp_path / ".other.png.abcdefgh.tmp").write_bytes(b"another file's")
    os.utime(tmp_path / ".other.png.abcdefgh.tmp", (0, 0))
    assert remove_stale_writes(tmp_path, r"x\.png") == [stale]
    assert fresh.exists() and (tmp_path / ".other.png.abcdefgh.tmp").exists()


def test_sigterm_during_a_big_screenshot_leaves_no_temporary_file(tmp_path):
    proc = _game(
        "--headless",
        "--frames",
        "2",
        "--size",
        "4096x4096",
        "--screenshot",
        "b.png",
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not any(tmp_path.glob(".b.png.*.tmp")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode in (0, 143)
    assert list(tmp_path.glob(".*.tmp")) == []


# --- class 8: messages -------------------------------------------------------------------------


def test_many_unknown_cfg_keys_are_one_short_line(tmp_path, caplog):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("k" * 900_000 + " = 1\n" + "".join(f"k{i} = 1\n" for i in range(500)))
    common.load(cfg)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and len(lines[0]) < 400 and "and 496 more" in lines[0], lines


@pytest.mark.parametrize(
    "text", ["fov = 1e-30", "fov = 179.5", "zNear = 1e-300", "zNear = 0.0001\nzFar = 1e6"]
)
def test_cfg_ranges_are_checked_before_numpy_sees_them(tmp_path, text):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(text + "\n")
    with pytest.raises(common.ConfigError, match="'fov'|'zNear'|'zFar'"):
        common.load(cfg)


def test_a_cfg_with_a_bom_is_read(tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_bytes(b"\xef\xbb\xbffov = 70\n")
    assert round(common.load(cfg).fov, 4) == round(70 * 3.141592653589793 / 180, 4)


def test_an_stl_scene_names_the_suffixes_that_work(tmp_path):
    (tmp_path / "m.stl").write_text("solid x\nendsolid x\n")
    result = run_game(*QUICK, "--scene", "m.stl", cwd=tmp_path)
    assert_one_line_error(result, "m.stl", ".gltf", ".json")
    assert "JSON" not in result.stderr
