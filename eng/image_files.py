"""Image files decoded as the engine decodes its textures (not in the book, whose
textureCache.zig loads them with stb_image and trusts them): Pillow reads the bytes and the
pixels become RGBA. The texture cache and the model converter share it, so the converter keeps
only the textures the engine can load."""

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from eng.com.safe_io import IMAGE_LIMIT


class ImageProblemError(ValueError):
    """Why an image file cannot be used, in one line without the file's name."""


def decode_image(data: bytes) -> np.ndarray:
    """The RGBA pixels (height, width, 4) of an image file's bytes. MemoryError passes."""
    if not data:
        raise ImageProblemError("is empty")
    if len(data) > IMAGE_LIMIT:
        raise ImageProblemError(f"is larger than {IMAGE_LIMIT // 2**20} MiB, the limit for images")
    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("RGBA"))
    except Image.DecompressionBombError as exc:
        raise ImageProblemError(f"cannot decode it (a decompression bomb: {exc})") from None
    except UnidentifiedImageError:
        raise ImageProblemError("cannot decode it (not an image Pillow reads)") from None
    except (OSError, ValueError, SyntaxError) as exc:  # a damaged file; SyntaxError: Pillow's own
        raise ImageProblemError(f"cannot decode it ({exc})") from None
