"""Builds the VMA cffi extension at install time; everything else is in pyproject.toml."""

from setuptools import setup
from setuptools.command.build_ext import build_ext

MISSING_HEADER = (
    "vk_mem_alloc.h (VMA 3.x) not found: run `make setup` first, or install "
    "libvulkan-memory-allocator-dev (Debian 13 / Ubuntu) or the Vulkan SDK, or set VMA_INCLUDE_DIR"
)


class BuildExt(build_ext):
    def pre_run(self, ext, ffi) -> None:
        """cffi's hook before it writes the C++ source: without the header, one clear line."""
        if not ext.include_dirs:
            raise SystemExit(f"error: {MISSING_HEADER}")


setup(cffi_modules=["eng/vk/_vma_build.py:ffibuilder"], cmdclass={"build_ext": BuildExt})
