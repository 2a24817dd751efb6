"""Fixtures (the helpers are in tests/helpers.py): Vulkan contexts with validation on, and
an Xvfb display for window tests.

Every context made here fails its test if the validation layers said anything (warning or
error) or if VMA still holds allocations when the context is destroyed. Beyond those, every
validation log created during any test must be empty when the test ends (`no_validation_messages`);
a test that provokes messages on purpose says so with `@pytest.mark.validation_messages`.

Tests marked `book_data` use the book's own models (Sponza, its cube): found through
ZVK_BOOK_RES or where `make book-data` put them. Without them those tests skip, with one line
saying how to get them, unless ZVK_REQUIRE_BOOK_DATA=1 (CI), where they fail instead.
"""

import os
import shutil
import subprocess

import pytest

from eng.com import common
from eng.com.live import live_counts
from eng.sdl_loader import quit_video
from eng.vk.ctx import VkCtx
from eng.vk.validation import ValidationLog

from .helpers import BOOK_RES, HAS_BOOK_DATA, NO_BOOK_DATA, Created, finish_ctx


def pytest_configure(config):
    config.addinivalue_line("markers", f"book_data: {NO_BOOK_DATA}")


def pytest_runtest_setup(item):
    if item.get_closest_marker("book_data") and not HAS_BOOK_DATA:
        if os.environ.get("ZVK_REQUIRE_BOOK_DATA") == "1":
            pytest.fail(f"ZVK_REQUIRE_BOOK_DATA=1 but {BOOK_RES} lacks the book's models")
        pytest.skip(NO_BOOK_DATA)


@pytest.fixture(autouse=True)
def no_validation_messages(request, monkeypatch):
    """Fails the test if a validation log created during it holds any message at the end
    (after every other fixture has cleaned up, so what vkDestroyDevice reports counts too)."""
    logs: list[ValidationLog] = []
    real_init = ValidationLog.__init__

    def init(self) -> None:
        real_init(self)
        logs.append(self)

    monkeypatch.setattr(ValidationLog, "__init__", init)
    yield logs
    if request.node.get_closest_marker("validation_messages") is None:
        messages = [m for validation_log in logs for m in validation_log.messages]
        assert messages == [], "validation messages:\n" + "\n".join(messages)


@pytest.fixture
def constants() -> common.Constants:
    return common.load().with_overrides(validation=True)


@pytest.fixture
def ctx(constants):
    """A headless Vulkan context (no window, no swapchain) with validation."""
    context = VkCtx.create(constants)
    yield context
    finish_ctx(context)


@pytest.fixture
def created_contexts(monkeypatch):
    """Every VkCtx made during the test, with its validation log, and the live objects (eng/com/
    live.py) counted before it: see `assert_cleaned_up`."""
    made = Created(live_counts())
    real = VkCtx.create.__func__

    def create(cls, *args, **kwargs):
        ctx = real(cls, *args, **kwargs)
        made.contexts.append((ctx, ctx.instance.validation_log))
        return ctx

    monkeypatch.setattr(VkCtx, "create", classmethod(create))
    return made


@pytest.fixture(scope="session")
def xvfb_display():
    """Starts Xvfb on a free display for the session and points DISPLAY at it."""
    xvfb = shutil.which("Xvfb")
    assert xvfb, "Xvfb is not installed (scripts/setup.sh installs it)"
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        number = f.readline().strip()
    assert number, "Xvfb did not start"
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = f":{number}"
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    yield f":{number}"
    assert proc.poll() is None, f"Xvfb :{number} exited during the tests ({proc.returncode})"
    quit_video()  # SDL lets go of the display before the display goes
    proc.terminate()
    proc.wait(timeout=10)
    if old is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = old


def pytest_addoption(parser):
    parser.addoption("--regenerate-golden", action="store_true", help="rewrite tests/golden/*.png")


@pytest.fixture
def regenerate(request) -> bool:
    return request.config.getoption("--regenerate-golden")


@pytest.fixture
def lavapipe(constants):
    """Golden images are only meaningful on lavapipe: fail (not skip) on another device,
    unless ZVK_EXPECT_LAVAPIPE=0."""
    if os.environ.get("ZVK_EXPECT_LAVAPIPE", "1") != "0":
        from eng.vk.inst import VkInstance
        from eng.vk.phys import list_devices

        instance = VkInstance.create(False, [])
        try:
            devices = list_devices(instance)
        finally:
            instance.cleanup()
        assert any("llvmpipe" in d for d in devices), f"expected lavapipe, found {devices}"
        return constants.with_overrides(gpu="llvmpipe")
    return constants
