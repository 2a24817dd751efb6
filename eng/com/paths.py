"""Where the project's files are (not in the book, whose paths are relative to where it runs):
the book's res/ and shaders/ folders, in a checkout or inside an installed wheel, and the
platform's cache folder."""

from pathlib import Path

import platformdirs

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the checkout (holds build/ after set-up)


def data_dir(name: str) -> Path:
    """The checkout's top-level folder `name` (a source tree or an editable install), else the
    copy an installed wheel carries inside the package, eng/`name` (see pyproject.toml)."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / name
    return Path(__file__).resolve().parents[1] / name


RES_DIR = data_dir("resources")
"""The book's res/ folder: cfg.toml and the default scene."""
SHADERS_DIR = data_dir("shaders")
"""The book's shaders/ folder: scn_vtx.glsl, scn_frg.glsl, their SPIR-V and an extra's own."""
DEFAULT_CFG = RES_DIR / "cfg.toml"
CACHE_DIR = Path(platformdirs.user_cache_dir("zvk-py", appauthor=False))
"""Where the pipeline cache and converted models are kept between runs."""
PIPELINE_CACHE = CACHE_DIR / "pipeline-cache.bin"
