"""Builds the cffi extension `eng.vk._vma` over vk_mem_alloc.h (VMA 3.x).

Book ch.10 compiles VMA from a one-line vma.cpp; we do the same through cffi's API mode, so that
the structs of the header keep their real layout. Run at install time by setup.py; the header is
looked up in VMA_INCLUDE_DIR (set by scripts/setup.sh), VULKAN_SDK/include, then /usr/include.
"""

import os
import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).parent


def _include_dirs() -> list[str]:
    candidates = [os.environ.get("VMA_INCLUDE_DIR", "")]
    if os.environ.get("VULKAN_SDK"):
        candidates.append(os.path.join(os.environ["VULKAN_SDK"], "include"))
    candidates += ["/usr/include", "/usr/local/include"]
    found = [d for d in candidates if d and os.path.isfile(os.path.join(d, "vk_mem_alloc.h"))]
    if not found:
        raise SystemExit(
            "vk_mem_alloc.h (VMA 3.x) not found: run scripts/setup.sh or set VMA_INCLUDE_DIR"
        )
    return found[:1]


def _source(include_dir: str) -> str:
    header = os.path.join(include_dir, "vk_mem_alloc.h")
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

ffibuilder = FFI()
ffibuilder.cdef((HERE / "vma_decls.h").read_text())
_INCLUDE_DIRS = _include_dirs()
ffibuilder.set_source(
    "eng.vk._vma",
    _source(_INCLUDE_DIRS[0]),
    source_extension=".cpp",
    include_dirs=_INCLUDE_DIRS,
    libraries=["vulkan"],
    extra_compile_args=["-std=c++17", "-O2", "-w"],
)
