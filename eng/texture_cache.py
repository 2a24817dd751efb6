"""Book ch.8/9 (textureCache.zig): every texture of the scene, by file path.

Images are decoded in parallel (Pillow releases the GIL while decoding), uploaded through
staging buffers and turned into mipmapped textures by one command buffer. Unlike the book, the
sampler array is not padded with 1x1 textures: unused slots point at one default texture.
"""

import logging
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from eng.com.interrupts import teardown
from eng.com.safe_io import IMAGE_LIMIT, FileProblemError, read_file
from eng.image_files import ImageProblemError, decode_image
from eng.vk.ctx import VkCtx
from eng.vk.phys import VkPhysDevice
from eng.vk.texture import VkTexture
from eng.vk.vma import VmaFlags

log = logging.getLogger("eng.texture")

MAX_TEXTURES = 100
DEFAULT_TEXTURE_ID = "<default>"


class TextureError(ValueError):
    """A texture the engine cannot use: more than the device can bind, wider than it can
    sample, or no memory left to load it."""


def out_of_memory(path: Path | str) -> TextureError:
    return TextureError(f"out of memory while loading {path}")


def device_texture_limit(phys: VkPhysDevice) -> int:
    """How many textures the fragment shader may index: MAX_TEXTURES or the device's limit."""
    limits = phys.limits
    return min(
        MAX_TEXTURES,
        limits.maxPerStageDescriptorSamplers,
        limits.maxPerStageDescriptorSampledImages,
        limits.maxDescriptorSetSamplers,
        limits.maxDescriptorSetSampledImages,
    )


def _decode(path: Path) -> np.ndarray | str:
    """RGBA pixels of an image file, or the reason it cannot be read."""
    try:
        return decode_image(read_file(path, IMAGE_LIMIT, "an image file"))
    except MemoryError:  # raised in the main thread by decode_images
        raise out_of_memory(path) from None
    except (FileProblemError, ImageProblemError) as exc:
        return str(exc)


def decode_images(paths: list[Path]) -> Iterator[tuple[Path, np.ndarray | str]]:
    """Decodes `paths` in parallel threads, yielding (path, pixels or why not) in order, so
    each image can be handed on and freed while the next ones decode. Shows progress (count
    and bytes) on a terminal."""
    if not paths:
        return
    progress = None
    if sys.stderr.isatty():
        progress = tqdm(total=len(paths), desc="textures", unit="img", leave=False)
    total_bytes = 0
    with ThreadPoolExecutor(max_workers=min(8, len(paths))) as pool:
        for path, result in zip(paths, pool.map(_decode, paths), strict=True):
            if isinstance(result, np.ndarray):
                total_bytes += result.nbytes
            if progress is not None:
                progress.update(1)
                progress.set_postfix_str(f"{total_bytes / 2**20:.0f} MiB")
            yield path, result
    if progress is not None:
        progress.close()


class TextureCache:
    def __init__(
        self,
        limit: int = MAX_TEXTURES,
        vma_flags: int = VmaFlags.DEDICATED_MEMORY,
        max_size: int = 16384,
    ):
        """`limit` textures at most, each at most `max_size` pixels wide and tall."""
        self.textures: dict[str, VkTexture] = {}
        self.limit = limit
        self.vma_flags = vma_flags
        self.max_size = max_size

    def add_texture(self, ctx: VkCtx, texture_id: str, pixels: np.ndarray) -> VkTexture:
        if texture_id in self.textures:
            return self.textures[texture_id]
        if len(self.textures) >= self.limit:
            raise TextureError(
                f"the scene needs more than {self.limit} textures, the most this device can bind"
                f" ({MAX_TEXTURES} in the book; the device's sampler limits may be lower)"
            )
        height, width = pixels.shape[:2]
        if max(width, height) > self.max_size:  # refused, not scaled: the file is to be fixed
            raise TextureError(
                f"texture {texture_id} is {width}x{height} pixels, more than the {self.max_size} "
                "this device allows (maxImageDimension2D); scale it down"
            )
        try:
            self.textures[texture_id] = VkTexture.create(
                ctx, pixels, vma_flags=self.vma_flags, name=texture_id
            )
        except MemoryError:  # staging the pixels: VkTexture.create has cleaned up
            raise out_of_memory(texture_id) from None
        return self.textures[texture_id]

    def add_default(self, ctx: VkCtx) -> None:
        """The texture at index 0: one white pixel, also bound in every unused slot."""
        self.add_texture(ctx, DEFAULT_TEXTURE_ID, np.full((1, 1, 4), 255, np.uint8))

    def add_textures_from_paths(self, ctx: VkCtx, paths: list[Path]) -> set[Path]:
        """Loads the image files; returns those that loaded (missing ones log a warning)."""
        wanted = list(dict.fromkeys(p for p in paths if str(p) not in self.textures))
        loaded = {p for p in paths if str(p) in self.textures}
        for path, result in decode_images(wanted):
            if isinstance(result, str):
                log.warning("texture %s: %s; using the material colour", path, result)
                continue
            self.add_texture(ctx, str(path), result)
            loaded.add(path)
        return loaded

    def index_of(self, texture_id: str) -> int:
        return list(self.textures).index(texture_id)

    def record_textures(self, cmd: Any) -> None:
        for texture in self.textures.values():
            texture.record_transition(cmd)

    @teardown
    def free_staging(self, ctx: VkCtx) -> None:
        for texture in self.textures.values():
            texture.cleanup_staging(ctx)

    def descriptor_views(self, count: int) -> list:
        """`count` image views for the sampler array: every texture, then the default."""
        views = [t.view for t in self.textures.values()]
        default = self.textures[DEFAULT_TEXTURE_ID].view
        return views + [default] * (count - len(views))

    @teardown
    def cleanup(self, ctx: VkCtx) -> None:
        for texture in self.textures.values():
            texture.cleanup(ctx)
        self.textures.clear()
