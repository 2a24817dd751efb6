"""The process limits the Vulkan driver needs, checked before it is loaded (not in the book).

A driver does not check them itself: under `ulimit -f` lavapipe's device memory (a file in
memory) dies with SIGBUS when it grows past the limit, and under a small `ulimit -v` the driver
aborts (std::bad_alloc) or crashes. `check_process_limits` turns both into one line before the
device is created. The minimums were measured with lavapipe (Mesa 22-24, `python -m game
--headless`): the default scene needs about 1.1 GiB of address space and 30 MiB of file size,
the book's Sponza 2 GiB and 300 MiB; the minimums leave room above the default scene's."""

from eng.vk.errors import VulkanError

try:
    import resource
except ImportError:  # Windows: no such limits
    resource = None  # type: ignore[assignment]

MiB = 2**20
MIN_ADDRESS_SPACE = 1280 * MiB  # RLIMIT_AS (`ulimit -v`): 1,000,000 KiB fails, 1,100,000 runs
MIN_FILE_SIZE = 512 * MiB  # RLIMIT_FSIZE (`ulimit -f`): Sponza needs 300 MiB, the default 30


class LimitError(VulkanError):
    """A process limit is below what the Vulkan driver needs (one line naming it)."""


def _too_small(limit: int, minimum: int) -> bool:
    soft, _ = resource.getrlimit(limit)
    return soft != resource.RLIM_INFINITY and soft < minimum


def check_process_limits() -> None:
    """LimitError if `ulimit -v` or `ulimit -f` is below what the driver needs."""
    if resource is None:
        return
    checks = (
        (resource.RLIMIT_AS, MIN_ADDRESS_SPACE, "-v", "virtual memory (address space)"),
        (resource.RLIMIT_FSIZE, MIN_FILE_SIZE, "-f", "file size"),
    )
    for limit, minimum, option, what in checks:
        if _too_small(limit, minimum):
            soft = resource.getrlimit(limit)[0]
            raise LimitError(
                f"the {what} limit (ulimit {option}) is {soft // 1024} KiB, below the "
                f"{minimum // 1024} KiB the Vulkan driver needs: raise it (ulimit {option} "
                f"{minimum // 1024} or unlimited)"
            )
