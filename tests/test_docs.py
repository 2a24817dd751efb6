"""The docs cannot go stale: every shell command block of README.md and docs/*.md runs, line by
line, in a temporary folder that shows the checkout's files, with a small `--frames` and
`--size` where it renders (headless: the tests need no display). A block after the comment
`<!-- docs-test: skip REASON -->` is left out, for the reason given (a display, the network,
minutes of work)."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import HAS_BOOK_DATA, NO_BOOK_DATA, ROOT
from .test_model_gen import textured_box

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\b(.*?)-->")
BLOCK = re.compile(r"^```(?:sh|bash|shell)\n(.*?)^```", re.M | re.S)
GAME = ("python -m game", "python3 -m game", "zvk")
NOT_RENDERING = {"--help", "-h", "--version", "--info", "--list-gpus"}
SMALL = {"--frames": "2", "--size": "64x48", "--seconds": "0.2", "--warmup": "1"}


def blocks() -> list:
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for match in BLOCK.finditer(text):
            before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
            line = text.count("\n", 0, match.start()) + 1
            name = f"{doc.relative_to(ROOT)}:{line}"
            skip = SKIP.search(before)
            if skip is None:
                found.append(pytest.param(match.group(1), id=name))
            else:
                assert skip.group(1).strip(), f"{name}: a block left out says why"
    return found


def as_run(line: str) -> str:
    """A game command as the test runs it: a small frame count and size, headless; any other
    line as it is (the virtual environment's `python` comes first on the PATH)."""
    words = shlex.split(line, comments=True)
    if not any(" ".join(words[:3]).startswith(g) for g in GAME):
        return line
    if not NOT_RENDERING & set(words):
        for option, value in SMALL.items():
            if option in words:
                words[words.index(option) + 1] = value
        for option in ("--frames", "--size"):
            if option not in words and "--seconds" not in words:
                words += [option, SMALL[option]]
        if "--headless" not in words:
            words.append("--headless")
    return shlex.join(words)


@pytest.mark.parametrize("block", blocks())
def test_a_docs_command_block_runs(block, tmp_path):
    if "sponza" in block.lower() and not HAS_BOOK_DATA:
        if os.environ.get("ZVK_REQUIRE_BOOK_DATA") == "1":
            pytest.fail(NO_BOOK_DATA)
        pytest.skip(NO_BOOK_DATA)
    for name in ("resources", "shaders", "scripts"):  # copies: a command may write into them
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    textured_box()[0].export(tmp_path / "model.glb")  # the docs' "any glTF/GLB/OBJ"
    lines = block.replace("\\\n", " ").splitlines()
    script = "\n".join(["set -e", *(as_run(line) for line in lines)])
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    env = dict(os.environ, PATH=path, XDG_CACHE_HOME=str(tmp_path / "cache"))
    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, f"{script}\n---\n{result.stdout[-1500:]}{result.stderr[-1500:]}"


def test_the_figures_and_guarantees_read_as_docs_not_notes():
    """docs/performance.md and docs/reliability.md are for users: short, current, and they name
    no issue, no sitting and no path outside the repository."""
    performance, reliability = (ROOT / "docs" / n for n in ("performance.md", "reliability.md"))
    assert len(performance.read_text().splitlines()) <= 250
    for doc in (performance, reliability):
        text = doc.read_text()
        assert not re.search(r"\bissue\b|\bsitting\b|\.\./shared", text, re.I), doc.name
        cells = [c for line in text.splitlines() if line.startswith("|") for c in line.split("|")]
        assert max(len(c.strip()) for c in cells) <= 200, doc.name
