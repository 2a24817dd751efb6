"""Errors at the eng/vk boundary (not in the book, whose Zig code returns error unions).

The project's own `VulkanError` (and `DeviceLostError`) is what leaves eng/vk:
- `check(result, what)` / `raise_for` for the raw `vk.lib` calls, whose VkResult the `vulkan`
  package does not check;
- `vk_errors(doing)` and `cleanup_on_error(owner, ...)` (every create) for the `vulkan`
  package's wrappers, which raise its own exceptions (vk.VkError, vk.VkException, ...): each
  becomes a VulkanError naming the failed call (the innermost `vkXxx` function of the
  traceback), the result and what was being done, so that the CLI prints one line.
"""

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, NoReturn, Protocol, TypeVar

import vulkan as vk

from eng.com import live
from eng.com.interrupts import interrupts_deferred

log = logging.getLogger("eng.vk")


class VulkanError(RuntimeError):
    """A Vulkan object could not be created or a device requirement is not met."""


class DeviceLostError(VulkanError):
    """VK_ERROR_DEVICE_LOST: the driver gave up on the device; nothing more will run on it."""


_SUCCESS = vk.VK_SUCCESS
_RESULT_NAMES = {
    value: name
    for name, value in sorted(vars(vk).items(), reverse=True)  # core names over _KHR aliases
    if name.startswith("VK_ERROR_") and isinstance(value, int) and value < 0
}
_POSITIVE = ("VK_NOT_READY", "VK_TIMEOUT", "VK_EVENT_SET", "VK_EVENT_RESET", "VK_INCOMPLETE")
_RESULT_NAMES.update(  # the non-error results the `vulkan` package raises too
    (getattr(vk, name), name) for name in (*_POSITIVE, "VK_SUBOPTIMAL_KHR") if hasattr(vk, name)
)
# the `vulkan` package raises exception_codes[result]: the class tells the result back
_EXCEPTION_RESULTS: dict[type, int] = {
    cls: code for code, cls in vk.exception_codes.items() if isinstance(code, int)
}
VK_EXCEPTIONS: tuple[type[Exception], ...] = (
    vk.VkError,
    vk.VkException,
    vk.ProcedureNotFoundError,  # vkGet*ProcAddr: the driver lacks the function
    vk.ExtensionNotSupportedError,
)
"""What the `vulkan` package raises; none of it leaves eng/vk as itself."""


def result_name(result: int) -> str:
    """VK_ERROR_OUT_OF_DEVICE_MEMORY and the like, for a VkResult."""
    return _RESULT_NAMES.get(result, f"VkResult {result}")


def error_for(result: int, what: str, doing: str = "") -> VulkanError:
    """The exception for a failed call `what` (while `doing`, if given): DeviceLostError (one
    line saying what to do) or VulkanError naming the call and the result."""
    while_ = f" while {doing}" if doing else ""
    if result == vk.VK_ERROR_DEVICE_LOST:
        return DeviceLostError(
            f"the Vulkan device was lost in {what}{while_} (the driver crashed or the GPU was "
            "reset); restart the program, and update the GPU driver if it happens again"
        )
    return VulkanError(f"{what} failed ({result_name(result)}){while_}")


def raise_for(result: int, what: str, doing: str = "") -> NoReturn:
    raise error_for(result, what, doing)


def check(result: int, what: str) -> None:
    """Raises unless `result` is VK_SUCCESS (book: vkUtils.zig checkResult), for the raw
    `vk.lib` calls whose VkResult the `vulkan` package does not check. One comparison when all
    is well, so it is cheap enough for every call of every frame."""
    if result != _SUCCESS:
        raise_for(result, what)


_VK_FUNCTION = re.compile(r"vk[A-Z]\w*")


def failed_call(exc: BaseException) -> str:
    """The Vulkan function that raised `exc`: the innermost `vkXxx` function of its traceback
    (the `vulkan` package's wrappers bear the names of the functions they call)."""
    name = ""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        if _VK_FUNCTION.fullmatch(tb.tb_frame.f_code.co_name):
            name = tb.tb_frame.f_code.co_name
        tb = tb.tb_next
    return name or "a Vulkan call"


def vulkan_error(exc: Exception, doing: str = "") -> VulkanError:
    """`exc`, an exception of the `vulkan` package, as the project's VulkanError."""
    what = failed_call(exc)
    result = _EXCEPTION_RESULTS.get(type(exc))
    if result is not None:
        return error_for(result, what, doing)
    while_ = f" while {doing}" if doing else ""
    return VulkanError(f"{what} failed ({type(exc).__name__}: the driver lacks it){while_}")


@contextmanager
def vk_errors(doing: str = "") -> Iterator[None]:
    """`with vk_errors("allocating descriptor set 'cam'"):` (or as a decorator) - an exception
    of the `vulkan` package raised in the block leaves it as a VulkanError (see module doc)."""
    try:
        yield
    except VK_EXCEPTIONS as exc:
        raise vulkan_error(exc, doing) from exc


class _Cleanable(Protocol):
    """What cleanup_on_error needs of an owner: a cleanup method."""

    @property
    def cleanup(self) -> Callable[..., None]: ...


_Owner = TypeVar("_Owner", bound=_Cleanable)


@contextmanager
def cleanup_on_error(owner: _Owner, *args: Any) -> Iterator[_Owner]:
    """`with cleanup_on_error(cls(), ctx) as obj:` - if the block raises (an error, Ctrl-C),
    `owner.cleanup(*args)` destroys whatever the block had stored in it so far. Create
    functions store each handle into the owner in the statement that makes it, so nothing
    made is ever out of reach of the cleanup; cleanups skip what is still None.

    An exception of the `vulkan` package leaves as a VulkanError naming the call, the result
    and the owner being created (as with `vk_errors`): every create is an eng/vk boundary."""
    try:
        yield owner
        live.made(owner)
    except BaseException as exc:
        with interrupts_deferred():
            owner.cleanup(*args)
        if isinstance(exc, VK_EXCEPTIONS):
            raise vulkan_error(exc, f"creating {type(owner).__name__}") from exc
        raise
