"""Lifetimes: leaks are reported, garbage collection at the worst moment changes nothing,
errors and Ctrl-C midway still clean up everything, and no `__del__` frees Vulkan handles."""

import ast
import gc
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import vulkan as vk
import vulkan._vulkan as vk_impl

from eng.com.live import live_counts
from eng.extras.handoff import HandOffs
from eng.json_fields import ModelError
from eng.render import Render
from eng.vk.ctx import VkCtx
from eng.vk.errors import VulkanError
from game.main import Game
from game.scenes import load_spec

from .helpers import (
    CRATE,
    ROOT,
    assert_cleaned_up,
    create_engine,
    default_scene_engine,
    run_engine,
)

# --- leaks are reported at vkDestroyDevice --------------------------------------------------


@pytest.mark.validation_messages
def test_a_leaked_child_object_is_reported_when_the_device_is_destroyed(constants):
    ctx = VkCtx.create(constants)
    device = ctx.device
    sampler = vk.vkCreateSampler(
        device.device,
        vk.VkSamplerCreateInfo(sType=vk.VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO, maxLod=1.0),
        None,
    )
    device.set_name(vk.VK_OBJECT_TYPE_SAMPLER, sampler, "leaked sampler")
    buffer = vk.vkCreateBuffer(
        device.device,
        vk.VkBufferCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
            size=64,
            usage=vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
        ),
        None,
    )
    device.set_name(vk.VK_OBJECT_TYPE_BUFFER, buffer, "leaked buffer")
    validation_log = ctx.instance.validation_log
    ctx.cleanup()  # destroys the device with both still alive, then the instance
    leaks = [
        m
        for i, m in zip(validation_log.message_ids, validation_log.messages, strict=True)
        if i.startswith("VUID-vkDestroyDevice-device-")  # -00378 in layers 1.3, -05137 in 1.4
    ]
    assert len(leaks) == 2, validation_log.messages
    assert any("VkBuffer" in m and "[leaked buffer]" in m for m in leaks)
    assert any("VkSampler" in m and "[leaked sampler]" in m for m in leaks)
    assert ctx._device is None and ctx._instance is None


def test_a_context_member_used_after_cleanup_is_a_clear_error(constants):
    """The members that live from create to cleanup are read checked: afterwards each is a
    VulkanError that names it (not an AttributeError on None deep inside a caller)."""
    ctx = VkCtx.create(constants)
    assert ctx.device.device is not None and ctx.vma.statistics().allocations == 0
    ctx.cleanup()
    for name in ("instance", "device", "desc_allocator", "vma", "pipeline_cache"):  # not phys:
        # the chosen GPU's description stays readable, as nothing is destroyed with it
        with pytest.raises(VulkanError, match=rf"^VkCtx\.{name} used before .* after cleanup$"):
            getattr(ctx, name)
    ctx.cleanup()  # a second cleanup finds nothing to destroy


@pytest.mark.parametrize(
    ("target", "name"),
    [
        ("eng.vk.texture.VkTextSampler.cleanup", "texture sampler"),
        ("eng.vk.desc.VkDescSetLayout.cleanup", "materials"),
        ("eng.vk.imv.VkImageView.cleanup", "depth 0"),
    ],
)
@pytest.mark.validation_messages
def test_an_engine_object_not_cleaned_up_is_reported_by_name(constants, monkeypatch, target, name):
    """If a cleanup stopped destroying its object, the leak would not go unnoticed: the layer
    names the object at vkDestroyDevice (every other test demands zero messages)."""
    monkeypatch.setattr(target, lambda self, *args: None)
    engine = default_scene_engine(constants, (32, 32))
    validation_log = engine.ctx.instance.validation_log
    engine.run(1)
    leaks = [m for m in validation_log.messages if "has not been destroyed" in m]
    assert any(f"[{name}]" in m for m in leaks), validation_log.messages


# --- garbage collection right before every create / submit ----------------------------------

GC_FUNCTIONS = (
    "vkCreateInstance",
    "vkCreateDevice",
    "vkCreateSwapchainKHR",
    "vkCreateImageView",
    "vkCreateGraphicsPipelines",
    "vkCreatePipelineLayout",
    "vkCreateDescriptorSetLayout",
    "vkCreateDescriptorPool",
    "vkAllocateDescriptorSets",
    "vkUpdateDescriptorSets",
    "vkCreateSampler",
    "vkCreateShaderModule",
    "vkAllocateCommandBuffers",
    "vkCmdPipelineBarrier2",
    "vkCmdCopyBufferToImage",
    "vkCmdBlitImage",
    "vkQueueSubmit2",
    "vkQueuePresentKHR",
)


class CollectBeforeCalls:
    """Runs gc.collect() right before the real C call of each GC_FUNCTIONS function, after the
    `vulkan` package has converted the arguments to cdata: a struct that is only reachable
    through a cycle, or not at all, is gone when the driver reads it."""

    def __init__(self, monkeypatch) -> None:
        self.calls: dict[str, int] = {}
        by_type = {}
        for name in GC_FUNCTIONS:
            try:
                by_type[vk.ffi.typeof(f"PFN_{name}")] = name
            except vk.ffi.error:
                by_type[vk.ffi.typeof(getattr(vk.lib, name))] = name
        real_call = vk_impl._callApi

        def call_api(fn, *args):
            name = by_type.get(vk.ffi.typeof(fn))
            if name is None:
                return real_call(fn, *args)
            types = vk.ffi.typeof(fn).args
            fn_args = [vk_impl._auto_handle(i, j) for i, j in zip(args, types, strict=False)]
            self._collect(name)
            return fn(*fn_args)

        monkeypatch.setattr(vk_impl, "_callApi", call_api)
        recorder = self

        class Lib:  # the engine's per-frame calls go through vk.lib directly
            def __getattr__(self, attr):
                fn = getattr(real_lib, attr)
                if attr not in GC_FUNCTIONS:
                    return fn

                def collected(*args):
                    recorder._collect(attr)
                    return fn(*args)

                return collected

        real_lib = vk.lib
        monkeypatch.setattr(vk, "lib", Lib())
        from eng.vk.dev import VkDevice

        real_raw_proc = VkDevice.raw_proc

        def raw_proc(dev, name):
            fn = real_raw_proc(dev, name)
            if name not in GC_FUNCTIONS:
                return fn

            def collected(*args):
                recorder._collect(name)
                return fn(*args)

            return collected

        monkeypatch.setattr(VkDevice, "raw_proc", raw_proc)

    def _collect(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1
        gc.collect()


def _render(constants, headless: bool, size=(96, 72), frames=4):
    engine = create_engine(Game(load_spec(None, None)), constants, size, headless, capture=True)
    validation_log = engine.ctx.instance.validation_log
    stats, image = run_engine(engine, frames)
    assert stats.frames == frames
    return image, list(validation_log.messages)


def test_collecting_garbage_before_every_create_and_submit_changes_nothing(constants, monkeypatch):
    expected, messages = _render(constants, headless=True)
    assert messages == []
    stress = CollectBeforeCalls(monkeypatch)
    image, messages = _render(constants, headless=True)
    assert messages == []
    assert np.array_equal(image, expected)
    seen = set(stress.calls)
    assert {
        "vkCreateInstance",
        "vkCreateDevice",
        "vkCreateImageView",
        "vkCreateGraphicsPipelines",
        "vkCreateDescriptorSetLayout",
        "vkAllocateDescriptorSets",
        "vkUpdateDescriptorSets",
        "vkQueueSubmit2",
    } <= seen, stress.calls


def test_collecting_garbage_before_every_create_and_present_windowed(
    xvfb_display, constants, monkeypatch
):
    constants = constants.with_overrides(vsync=False)
    expected, messages = _render(constants, headless=False)
    assert messages == []
    stress = CollectBeforeCalls(monkeypatch)
    image, messages = _render(constants, headless=False)
    assert messages == []
    assert np.array_equal(image, expected)
    assert {"vkCreateSwapchainKHR", "vkQueuePresentKHR", "vkQueueSubmit2"} <= set(stress.calls)


# --- errors midway clean up everything ------------------------------------------------------


class InjectedError(RuntimeError):
    pass


def _fail_on_call(monkeypatch, target: str, n: int) -> None:
    """Makes the `n`th call of `target` (a dotted path to a function) raise InjectedError."""
    module_path, _, attr = target.rpartition(".")
    owner_path, _, owner_attr = module_path.rpartition(".")
    import importlib

    try:
        owner = getattr(importlib.import_module(owner_path), owner_attr)
    except (ImportError, AttributeError):
        owner = importlib.import_module(module_path)
    real = owner.__dict__[attr]
    is_classmethod = isinstance(real, classmethod)
    func = real.__func__ if is_classmethod else real
    count = {"n": 0}

    def failing(*args, **kwargs):
        count["n"] += 1
        if count["n"] == n:
            raise InjectedError(f"injected failure in {target} (call {n})")
        return func(*args, **kwargs)

    monkeypatch.setattr(owner, attr, classmethod(failing) if is_classmethod else failing)


@pytest.mark.parametrize(
    ("target", "n"),
    [
        ("eng.vk.image.VkImage.create", 2),  # in Render.create: the second offscreen image
        ("eng.vk.imv.VkImageView.create", 1),  # in Render.create: the first offscreen view
        ("eng.vk.pipe.VkPipeline.create", 2),  # in Render.create: the second pipeline
        ("eng.extras.handoff.HandOffs.create", 1),  # in Render.create: an extra's create
        ("eng.vk.image.VkImage.create", 3),  # in Render.create: the first depth image
        ("eng.vk.texture.VkTexture.create", 3),  # in Render.init: the third texture
        ("eng.models_cache.staged_upload", 4),  # in Render.init: a model's index buffer
        ("eng.vk.desc.VkDescAllocator.add_desc_set", 4),  # in RenderScn.init
        ("eng.vk.cmd.VkCmdBuff.submit_and_wait", 1),  # the upload submit
        ("eng.render_scn.RenderScn.record", 1),  # the first frame, mid-recording
        ("eng.vk.sync.VkFence.wait", 4),  # the third frame
    ],
)
def test_a_failure_midway_leaves_no_leak_and_no_message(
    constants, monkeypatch, created_contexts, target, n
):
    _fail_on_call(monkeypatch, target, n)
    with pytest.raises(InjectedError):
        # with an extra that makes Vulkan objects of its own (on a CPU device: a query pool)
        engine = default_scene_engine(constants, (64, 48), extras=[HandOffs()])
        engine.run(5)
    assert_cleaned_up(created_contexts)


def test_a_corrupt_index_file_fails_the_upload_cleanly(constants, tmp_path, created_contexts):
    """A model whose .idx passes the JSON checks but points past its vertices: the textures and
    materials are already on the GPU when the model upload finds it."""
    for f in CRATE.parent.iterdir():
        shutil.copy(f, tmp_path / f.name)
    idx = np.fromfile(tmp_path / "crate.idx", "<u4")
    idx[7] = 10_000
    idx.tofile(tmp_path / "crate.idx")
    engine = create_engine(Game(load_spec(tmp_path / "crate.json", None)), constants, (32, 32))
    with pytest.raises(ModelError, match="index 10000 is out of range"):
        engine.run(2)
    assert_cleaned_up(created_contexts)


def test_keyboard_interrupt_in_the_loop_still_cleans_up(constants, monkeypatch, created_contexts):
    real = Render.render
    calls = {"n": 0}

    def render(self, eng_ctx):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, eng_ctx)

    monkeypatch.setattr(Render, "render", render)
    engine = default_scene_engine(constants, (64, 48))
    vma = engine.ctx.vma
    with pytest.raises(KeyboardInterrupt):
        engine.run(100)
    assert calls["n"] == 3
    assert vma.vma_alloc is None and vma.live_at_destroy == 0  # the allocator was destroyed
    assert_cleaned_up(created_contexts)


def test_keyboard_interrupt_gives_exit_status_130_from_the_cli(
    constants, monkeypatch, created_contexts, capsys
):
    from game import cli

    real = Render.render
    rendered = {"n": 0}

    def render(self, eng_ctx):
        if rendered["n"] == 2:
            raise KeyboardInterrupt
        done = real(self, eng_ctx)
        rendered["n"] += done
        return done

    monkeypatch.setattr(Render, "render", render)
    status = cli.main(["--headless", "--validation", "--frames", "50", "--size", "32x32"])
    assert status == 130
    assert capsys.readouterr().err.strip() == "interrupted"
    assert_cleaned_up(created_contexts)


def test_ctrl_c_on_a_running_game_exits_cleanly(tmp_path):
    """A real SIGINT to `python -m game` while it renders: exit 130, one line, and nothing
    from the validation layers or VMA (each would print a line on stderr)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "game", "--headless", "--validation", "--frames", "100000"]
        + ["--size", "64x48", "-v", "info"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr_lines = []
    deadline = time.monotonic() + 60
    for line in proc.stderr:  # wait until the models are on the GPU and frames are running
        stderr_lines.append(line)
        if "loaded" in line or time.monotonic() > deadline:
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    stderr_lines += err.splitlines(keepends=True)
    assert proc.returncode == 130, "".join(stderr_lines)
    text = "".join(stderr_lines)
    assert "Traceback" not in text
    assert text.strip().splitlines()[-1] == "interrupted"
    assert not re.search(r"^(WARNING|ERROR) ", text, re.M), text


# --- no Vulkan handle is freed by the garbage collector -------------------------------------


def test_no_del_methods_in_the_engine():
    """Vulkan objects are destroyed by explicit cleanup in reverse order of creation; a
    `__del__` would run in any order (or at exit after the device is gone)."""
    sources = [*(ROOT / "eng").rglob("*.py"), *(ROOT / "game").rglob("*.py")]
    assert len(sources) > 20
    offenders = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in sources
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"def\s+__del__\s*\(|weakref\.finalize\(", line)
    ]
    assert offenders == []


def test_cleanup_is_in_reverse_order_of_creation_in_the_context():
    """VkCtx.create's order (instance ... pipeline cache) reversed is VkCtx.cleanup's order."""
    source = Path(sys.modules[VkCtx.__module__].__file__).read_text()
    create = source[source.index("def create(") : source.index("def _name_instance_objects")]
    cleanup = source[source.index("def cleanup(") :]
    fields = ["instance", "surface", "phys", "device", "swap_chain", "desc_allocator", "vma"]
    fields.append("pipeline_cache")

    def order(text, pattern):
        # a member is stored as `_name` where a property reads it back checked
        found = {
            f: max(text.find(pattern.format(f)), text.find(pattern.format("_" + f))) for f in fields
        }
        return [f for f in sorted(found, key=found.get) if found[f] >= 0]

    created = order(create, "ctx.{} =")
    created.insert(created.index("device") + 1, "swap_chain")  # create_swap_chain()
    destroyed = order(cleanup, "self.{}.cleanup")
    assert destroyed == [f for f in reversed(created) if f in destroyed]
    assert json.dumps(destroyed)  # keeps the list printable in a failure


# --- cleanups hold Ctrl-C, and every object made is counted until its cleanup ----------------


def test_every_cleanup_is_marked_teardown():
    """The interrupt sweep skips code by the `@teardown` mark (which also holds Ctrl-C while
    it runs), so a cleanup left unmarked would be stopped half-way by a Ctrl-C. Cleanups that
    do nothing (a base class's, a protocol's) need no mark."""
    unmarked = []
    for path in sorted((ROOT / "eng").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef) or node.name != "cleanup":
                continue
            marks = [ast.unparse(d) for d in node.decorator_list]
            statements = [n for n in node.body if not isinstance(n, (ast.Pass, ast.Expr))]
            if "teardown" not in marks and "property" not in marks and statements:
                unmarked.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unmarked == []


def test_a_run_leaves_no_object_alive_and_says_so_at_debug_level(constants, caplog):
    before = live_counts()
    engine = default_scene_engine(constants, (32, 32), capture=True)
    assert live_counts().get("Engine") == before.get("Engine", 0) + 1
    with caplog.at_level(logging.DEBUG, logger="eng"):
        engine.run(2)
    assert live_counts() == before
    assert any("alive after cleanup" in r.getMessage() for r in caplog.records)
