"""Hardening of the engine (issue 11, part A): every VkResult checked, a lost device in one
line, device limits, out of memory, Ctrl-C at any moment of a load, windowed screenshots."""

import pytest
import vulkan as vk

from game import cli

from .conftest import assert_cleaned_up

# --- every VkResult of the raw calls is checked ---------------------------------------------


class FailingLib:
    """Stands in for `vk.lib`: the `n`th call of `name` returns `result` instead of running."""

    def __init__(self, real, name: str, n: int, result: int) -> None:
        self._real, self._name, self._n, self._result = real, name, n, result
        self.calls = 0

    def __getattr__(self, attr):
        fn = getattr(self._real, attr)
        if attr != self._name:
            return fn

        def call(*args):
            self.calls += 1
            return self._result if self.calls == self._n else fn(*args)

        return call


@pytest.mark.parametrize(
    ("name", "n"),
    [
        ("vkWaitForFences", 3),
        ("vkResetFences", 2),
        ("vkQueueSubmit2", 3),
        ("vkBeginCommandBuffer", 2),
        ("vkEndCommandBuffer", 2),
        ("vkResetCommandPool", 1),
    ],
)
def test_a_lost_device_ends_the_run_with_one_line(monkeypatch, created_contexts, capsys, name, n):
    fake = FailingLib(vk.lib, name, n, vk.VK_ERROR_DEVICE_LOST)
    monkeypatch.setattr(vk, "lib", fake)
    status = cli.main(["--headless", "--validation", "--frames", "5", "--size", "32x32"])
    err = capsys.readouterr().err.strip()
    assert fake.calls >= n
    assert status == 1, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: the Vulkan device was lost in " + name), err
    assert_cleaned_up(created_contexts)


def test_other_failed_results_name_the_call_and_the_result(monkeypatch, created_contexts, capsys):
    fake = FailingLib(vk.lib, "vkQueueSubmit2", 2, vk.VK_ERROR_OUT_OF_DEVICE_MEMORY)
    monkeypatch.setattr(vk, "lib", fake)
    status = cli.main(["--headless", "--validation", "--frames", "5", "--size", "32x32"])
    err = capsys.readouterr().err.strip()
    assert status == 1
    assert err == "error: vkQueueSubmit2 failed (VK_ERROR_OUT_OF_DEVICE_MEMORY)"
    assert_cleaned_up(created_contexts)
