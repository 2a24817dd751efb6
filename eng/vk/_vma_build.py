"""Builds the cffi extension `eng.vk._vma` over vk_mem_alloc.h (VMA 3.x).

Book ch.10 compiles VMA from a one-line vma.cpp; we do the same through cffi's API mode, so that
the structs of the header keep their real layout. Run at install time by setup.py; the header is
looked up by `find_include_dir`.
"""

import os
import re
import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).parent


def find_include_dir() -> str | None:
    """The first folder holding vk_mem_alloc.h: VMA_INCLUDE_DIR, VULKAN_SDK/include, the
    checkout's build/ (where scripts/setup.sh unpacks it), then the system's."""
    candidates = [os.environ.get("VMA_INCLUDE_DIR", "")]
    if os.environ.get("VULKAN_SDK"):
        candidates.append(os.path.join(os.environ["VULKAN_SDK"], "include"))
    candidates += [str(HERE.parents[1] / "build" / "vma" / "usr" / "include")]
    candidates += ["/usr/include", "/usr/local/include"]
    return next(
        (d for d in candidates if d and os.path.isfile(os.path.join(d, "vk_mem_alloc.h"))), None
    )


def _source(include_dir: str | None) -> str:
    if include_dir is None:  # setup.py stops the build with one line before compiling
        return ""
    header = os.path.abspath(os.path.join(include_dir, "vk_mem_alloc.h"))
    with open(header, encoding="utf-8", errors="replace") as f:
        found = re.search(r"Version (\d+\.\d+\.\d+)", f.read(4096))
    version = f"{found[1] if found else 'unknown'} ({header})"
    return SOURCE.replace("@VERSION@", version.replace("\\", "/").replace('"', "'"))


SOURCE = """
#define VMA_IMPLEMENTATION
#define VMA_STATIC_VULKAN_FUNCTIONS 0
#define VMA_DYNAMIC_VULKAN_FUNCTIONS 1
#include <vk_mem_alloc.h>

static const VmaVulkanFunctions* zvkVulkanFunctions(void) {
    static VmaVulkanFunctions funcs = {};
    funcs.vkGetInstanceProcAddr = vkGetInstanceProcAddr;
    funcs.vkGetDeviceProcAddr = vkGetDeviceProcAddr;
    return &funcs;
}

static const char* zvkVmaVersion(void) { return "@VERSION@"; }
"""

_WINDOWS = sys.platform == "win32"  # the loader is vulkan-1.lib there, and the compiler MSVC
_SDK = os.environ.get("VULKAN_SDK")  # the LunarG SDK (macOS, Windows) brings its own loader

ffibuilder = FFI()
ffibuilder.cdef((HERE / "vma_decls.h").read_text())
_INCLUDE_DIR = find_include_dir()
ffibuilder.set_source(
    "eng.vk._vma",
    _source(_INCLUDE_DIR),
    source_extension=".cpp",
    include_dirs=[_INCLUDE_DIR] if _INCLUDE_DIR else [],
    libraries=["vulkan-1" if _WINDOWS else "vulkan"],
    library_dirs=[os.path.join(_SDK, "Lib" if _WINDOWS else "lib")] if _SDK else [],
    extra_compile_args=["/std:c++17", "/O2"] if _WINDOWS else ["-std=c++17", "-O2", "-w"],
)
