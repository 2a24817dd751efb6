"""Bad input, end to end: every mistake in cfg.toml, on the command line, in the environment or
in a model file ends with one clear line on stderr, a non-zero exit status and no traceback;
warnings (unknown settings, unknown GPU, missing validation layers) let the run go on."""

import json
import logging
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import vulkan as vk
from PIL import Image

from eng.vk import loader
from eng.vk import phys as phys_module
from eng.vk.ctx import VkCtx
from eng.vk.errors import VulkanError
from eng.vk.inst import VkInstance
from eng.vk.phys import VkPhysDevice

from .helpers import CRATE, finish_ctx
from .test_cli import assert_one_line_error, run_game

QUICK = ["--headless", "--frames", "1", "--size", "32x24"]


def write_cfg(tmp_path, text: str):
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("fov = [\n", ["not valid TOML"]),
        ("fov = 'wide'\n", ["'fov'", "'wide'"]),
        ("validation = 'yes'\n", ["'validation'", "bool"]),
        ("swapChainImages = 2.5\n", ["'swapChainImages'", "int"]),
        ("fov = 0\n", ["'fov'", "between 1 and 179"]),
        ("fov = 180\n", ["'fov'", "between 1 and 179"]),
        ("fov = nan\n", ["'fov'", "finite"]),
        ("zNear = 0\n", ["'zNear'", "at least 1e-06"]),
        ("zNear = -1\n", ["'zNear'", "at least 1e-06"]),
        ("zNear = nan\n", ["'zNear'", "finite"]),
        ("zNear = 50.0\nzFar = 50.0\n", ["'zNear'", "'zFar'"]),
        ("zNear = 60.0\n", ["'zNear'", "'zFar'"]),
        ("zFar = inf\n", ["'zFar'", "finite"]),
        ("swapChainImages = 0\n", ["'swapChainImages'", "between 1 and 16"]),
        ("swapChainImages = 100\n", ["'swapChainImages'", "between 1 and 16"]),
        ("ups = 0\n", ["'ups'", "> 0"]),
        ("ups = inf\n", ["'ups'", "finite"]),
    ],
)
def test_bad_cfg_gets_one_clear_line(tmp_path, text, words):
    path = write_cfg(tmp_path, text)
    result = run_game("--config", str(path), *QUICK)
    assert_one_line_error(result, str(path), *words)


def test_cfg_that_is_not_text_or_missing(tmp_path):
    binary = tmp_path / "cfg.toml"
    binary.write_bytes(b"\xff\xfe\x00fov")
    assert_one_line_error(run_game("--config", str(binary), *QUICK), str(binary))
    missing = tmp_path / "none.toml"
    assert_one_line_error(run_game("--config", str(missing), *QUICK), str(missing), "not found")


def test_unknown_cfg_keys_warn_and_run(tmp_path):
    path = write_cfg(tmp_path, "fov = 60\ncolour = 'blue'\n")
    result = run_game("--config", str(path), *QUICK, "--screenshot", str(tmp_path / "o.png"))
    assert result.returncode == 0, result.stderr
    assert "unknown setting 'colour' ignored" in result.stderr
    assert (tmp_path / "o.png").is_file()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--frobnicate"], ["--frobnicate"]),
        (["--size", "0x10"], ["--size", "0x10"]),
        (["--size", "99999x10"], ["--size"]),
        (["--size", "-5x10"], ["--size"]),
        (["--frames", "0"], ["--frames", "at least 1"]),
        (["--frames", "-1"], ["--frames"]),
        (["--frames", "ten"], ["--frames", "ten"]),
        (["--view", "sideways"], ["--view"]),
        (["--validation-features", "paranoid"], ["paranoid"]),
        (["--screenshot", "/nonexistent-folder/x.png"], ["/nonexistent-folder"]),
        (["--screenshot", "/proc/zvk.png"], ["/proc/zvk.png", "cannot write"]),
        (["--screenshot", "/sys/zvk.png"], ["/sys/zvk.png", "cannot write"]),
        (["--screenshot", "shot.jpg"], ["shot.jpg", ".png"]),
    ],
)
def test_bad_command_lines(args, words):
    result = run_game(*QUICK, *args)
    assert_one_line_error(result, *words)


def test_screenshot_into_a_folder_and_never_overwriting_unnamed_files(tmp_path):
    assert_one_line_error(run_game(*QUICK, "--screenshot", str(tmp_path)), "folder")
    # the no-display fallback picks a new name and leaves existing files alone
    keep = tmp_path / "zvk-screenshot.png"
    keep.write_bytes(b"mine")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    result = run_game("--frames", "1", "--size", "16x16", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert {k: after[k] for k in before} == before
    assert len(after) == len(before) + 1
    # a file the user names is replaced by the screenshot, and only then
    named = tmp_path / "named.png"
    named.write_bytes(b"old")
    result = run_game(*QUICK, "--screenshot", str(named))
    assert result.returncode == 0, result.stderr
    assert Image.open(named).size == (32, 24)


def test_a_failed_screenshot_leaves_no_file_behind(tmp_path):
    """The write check creates and removes a probe file; it must not leave an empty one."""
    result = run_game(*QUICK, "--screenshot", "/proc/zvk.png")
    assert result.returncode == 2
    out = tmp_path / "x.png"  # checked (probe written and removed), then the scene fails
    result = run_game(*QUICK, "--screenshot", str(out), "--scene", str(tmp_path / "no.json"))
    assert_one_line_error(result, "no.json", "not found")
    assert list(tmp_path.iterdir()) == []


# --- the environment ------------------------------------------------------------------------


def test_no_vulkan_driver(tmp_path):
    nowhere = str(tmp_path / "no-such-icd.json")
    env = {"VK_DRIVER_FILES": nowhere, "VK_ICD_FILENAMES": nowhere}
    result = run_game(*QUICK, env_changes=env)
    assert_one_line_error(result, "no Vulkan driver", "install")
    assert_one_line_error(run_game("--list-gpus", env_changes=env), "no Vulkan driver")


def test_validation_layers_missing_warns_and_runs(tmp_path):
    empty = tmp_path / "layers"
    empty.mkdir()
    env = {"VK_LAYER_PATH": str(empty), "VK_ADD_LAYER_PATH": str(empty)}
    out = tmp_path / "o.png"
    result = run_game(*QUICK, "--validation", "--screenshot", str(out), env_changes=env)
    assert result.returncode == 0, result.stderr
    assert "validation requested but VK_LAYER_KHRONOS_validation is not installed" in (
        result.stderr
    )
    assert out.is_file()


def test_validation_layers_missing_in_process(constants, monkeypatch, caplog):
    monkeypatch.setattr(loader, "instance_layers", lambda: set())
    caplog.set_level(logging.WARNING, logger="eng.vk")
    ctx = VkCtx.create(constants)
    try:
        assert ctx.instance.validation_log is None  # running without validation
        assert not ctx.instance.debug_utils
        assert any("not installed" in r.getMessage() for r in caplog.records)
    finally:
        ctx.cleanup()


def test_unknown_gpu_name_warns_and_runs(tmp_path):
    out = tmp_path / "o.png"
    result = run_game(*QUICK, "--gpu", "Voodoo 5 6000", "--screenshot", str(out))
    assert result.returncode == 0, result.stderr
    assert "GPU 'Voodoo 5 6000' not found" in result.stderr
    assert out.is_file()


class _FakeFeatures:
    """vkGetPhysicalDeviceFeatures2 that clears one Vulkan 1.3 feature."""

    def __init__(self, cleared: str) -> None:
        self.cleared = cleared
        self.real = vk.vkGetPhysicalDeviceFeatures2

    def __call__(self, pdev, features2):
        self.real(pdev, features2)
        f13 = vk.ffi.cast("VkPhysicalDeviceVulkan13Features*", features2.pNext)
        setattr(f13, self.cleared, 0)


@pytest.mark.parametrize("feature", ["dynamicRendering", "synchronization2"])
def test_no_device_with_a_required_feature_says_which(constants, monkeypatch, feature):
    monkeypatch.setattr(vk, "vkGetPhysicalDeviceFeatures2", _FakeFeatures(feature))
    instance = VkInstance.create(False, [])
    try:
        with pytest.raises(VulkanError) as err:
            VkPhysDevice.create(instance, "")
    finally:
        instance.cleanup()
    message = str(err.value)
    assert message.startswith("no suitable Vulkan device")
    assert f"lacks the {feature} feature" in message and "\n" not in message


def test_no_device_with_vulkan_1_3_says_so(monkeypatch):
    real = vk.vkGetPhysicalDeviceProperties

    def old_props(pdev):
        props = real(pdev)
        return SimpleNamespace(
            apiVersion=vk.VK_MAKE_VERSION(1, 2, 198),
            deviceName=props.deviceName,
            deviceType=props.deviceType,
        )

    monkeypatch.setattr(phys_module.vk, "vkGetPhysicalDeviceProperties", old_props)
    instance = VkInstance.create(False, [])
    try:
        with pytest.raises(VulkanError, match=r"lacks Vulkan 1\.3 \(it has 1\.2\.198\)"):
            VkPhysDevice.create(instance, "")
    finally:
        instance.cleanup()


def test_no_device_at_all(monkeypatch):
    monkeypatch.setattr(vk, "vkEnumeratePhysicalDevices", lambda instance: [])
    instance = VkInstance.create(False, [])
    try:
        with pytest.raises(VulkanError, match="no Vulkan device found"):
            VkPhysDevice.create(instance, "")
    finally:
        instance.cleanup()


def test_missing_requirement_reaches_the_user_as_one_line(monkeypatch, capsys):
    from game import cli

    monkeypatch.setattr(vk, "vkGetPhysicalDeviceFeatures2", _FakeFeatures("dynamicRendering"))
    status = cli.main([*QUICK])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert len(err) == 1 and "dynamicRendering" in err[0] and err[0].startswith("error:")


def test_a_device_without_anisotropy_renders_cleanly(constants, monkeypatch):
    """samplerAnisotropy is optional: without it the sampler must not ask for it."""
    real = vk.vkGetPhysicalDeviceFeatures

    def no_anisotropy(pdev):
        features = real(pdev)
        features.samplerAnisotropy = 0
        return features

    monkeypatch.setattr(vk, "vkGetPhysicalDeviceFeatures", no_anisotropy)
    ctx = VkCtx.create(constants)
    assert not ctx.phys.anisotropy
    finish_ctx(ctx)
    from .helpers import render_headless

    image, messages = render_headless(constants, CRATE, None, (64, 64))
    assert messages == []
    assert image[..., :3].max() > 0


# --- models ---------------------------------------------------------------------------------


@pytest.fixture
def crate_copy(tmp_path):
    folder = tmp_path / "crate"
    folder.mkdir()
    for f in CRATE.parent.iterdir():
        shutil.copy(f, folder / f.name)
    return folder


def _edit_json(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("breakage", "words"),
    [
        ("truncated-vtx", ["crate.vtx", "not a multiple of 20"]),
        ("index-out-of-range", ["index 24 is out of range"]),
        ("missing-materials", ["crate-mat.json", "not found"]),
        ("bad-json", ["crate.json", "JSON"]),
        ("negative-size", ["idxSize", "negative"]),
        ("unknown-material", ["uses material 'nope'"]),
        ("missing-idx", ["idxFilename", "not found"]),
        ("nan-vertex", ["crate.vtx", "vertex 3", "not a finite number"]),
    ],
)
def test_broken_models_end_with_one_line(crate_copy, breakage, words):
    model = crate_copy / "crate.json"
    if breakage == "truncated-vtx":
        data = (crate_copy / "crate.vtx").read_bytes()
        (crate_copy / "crate.vtx").write_bytes(data[:-7])
    elif breakage == "index-out-of-range":
        idx = np.fromfile(crate_copy / "crate.idx", "<u4")
        idx[-1] = 24
        idx.tofile(crate_copy / "crate.idx")
    elif breakage == "missing-materials":
        (crate_copy / "crate-mat.json").unlink()
    elif breakage == "bad-json":
        model.write_text(model.read_text()[:-10])
    elif breakage == "negative-size":
        _edit_json(model, lambda d: d["meshes"]["items"][0].update(idxSize=-12))
    elif breakage == "unknown-material":
        _edit_json(model, lambda d: d["meshes"]["items"][0].update(materialId="nope"))
    elif breakage == "missing-idx":
        (crate_copy / "crate.idx").unlink()
    elif breakage == "nan-vertex":
        vtx = np.fromfile(crate_copy / "crate.vtx", "<f4")
        vtx[3 * 5 + 1] = np.nan
        vtx.tofile(crate_copy / "crate.vtx")
    result = run_game(*QUICK, "--validation", "--scene", str(model))
    assert_one_line_error(result, *words)


def test_a_texture_that_is_not_an_image_warns_and_renders(crate_copy, tmp_path):
    (crate_copy / "crate.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "o.png"
    result = run_game(
        *QUICK, "--validation", "--scene", str(crate_copy / "crate.json"), "--screenshot", str(out)
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "crate.png" in lines[0] and "cannot decode" in lines[0]
    assert out.is_file()
