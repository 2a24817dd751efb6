"""The book's path stays clean (docs/beyond-the-book.md): the book's modules import nothing of
eng/extras and are about as long as the book's Zig files, each hook call is one marked line,
a plain windowed run loads no extra, and the folders are the book's (resources/, shaders/)."""

import ast
import subprocess
import sys

import pytest

from .helpers import ROOT

# Each module named after a book module, with its Zig file's length at the pinned commit of
# game/book_data.json (booksamples/chapter-10/src)
ZIG_LINES = {
    "eng/engine.py": 99,  # eng.zig
    "eng/wnd.py": 108,
    "eng/scene.py": 171,
    "eng/entity.py": 45,
    "eng/model_data.py": 85,  # modelData.zig
    "eng/model_gen.py": 260,
    "eng/models_cache.py": 304,
    "eng/texture_cache.py": 123,
    "eng/render.py": 341,
    "eng/render_scn.py": 454,
    "eng/com/common.py": 42,
    "eng/vk/buf.py": 81,  # vkBuffer.zig
    "eng/vk/cmd.py": 68,
    "eng/vk/ctx.py": 91,
    "eng/vk/desc.py": 296,
    "eng/vk/dev.py": 68,
    "eng/vk/image.py": 70,
    "eng/vk/imv.py": 45,
    "eng/vk/inst.py": 76,
    "eng/vk/phys.py": 124,
    "eng/vk/pipe.py": 189,
    "eng/vk/queue.py": 32,
    "eng/vk/surf.py": 57,
    "eng/vk/swap.py": 230,
    "eng/vk/sync.py": 37,
    "eng/vk/texture.py": 329,
    "eng/vk/util.py": 34,  # vkUtils.zig
    "game/main.py": 80,
}
AT_MOST_THE_BOOKS = {"eng/render.py", "eng/render_scn.py"}  # vk/vma.py: its Zig side is C
BOOK_SIDE = sorted(
    p for p in (ROOT / "eng").rglob("*.py") if "extras" not in p.relative_to(ROOT).parts
)
HOOKED = ("eng/engine.py", "eng/render.py", "eng/render_scn.py")


def test_the_book_side_never_imports_the_extras():
    for path in BOOK_SIDE:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):  # function bodies too
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            bad = [n for n in names if n == "eng.extras" or n.startswith("eng.extras.")]
            assert not bad, f"{path.relative_to(ROOT)}:{node.lineno} imports {bad[0]}"


@pytest.mark.parametrize("module", sorted(ZIG_LINES))
def test_a_book_module_is_about_as_long_as_the_books(module):
    zig = ZIG_LINES[module]
    limit = zig if module in AT_MOST_THE_BOOKS else max(2 * zig, 100)
    lines = len((ROOT / module).read_text().splitlines())
    assert lines <= limit, f"{module}: {lines} lines, at most {limit} (its Zig file: {zig})"


@pytest.mark.parametrize("module", HOOKED)
def test_each_hook_call_is_one_marked_line(module):
    lines = (ROOT / module).read_text().splitlines()
    calls = [n for n, line in enumerate(lines, 1) if "extras." in line and "(" in line]
    calls = [n for n in calls if "import" not in lines[n - 1] and "Extras(" not in lines[n - 1]]
    assert calls, f"{module} calls no hook"
    unmarked = [n for n in calls if not lines[n - 1].rstrip().endswith("# hook")]
    assert unmarked == [], f"{module}: hook calls without '# hook' on lines {unmarked}"


def test_a_plain_windowed_run_loads_no_extra(xvfb_display):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "game", "--frames", "3", "--size", "64x48"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert "eng.render" in loaded and "eng.wnd" in loaded, "the run did not load the engine"
    extras = [name for name in loaded if name.startswith("eng.extras")]
    assert extras == [], f"a run without options loaded {extras}"


def test_the_books_folders_are_at_the_top():
    for name in ("resources/cfg.toml", "resources/scene/scene.json"):
        assert (ROOT / name).is_file(), name
    for stem in ("scn_vtx", "scn_frg"):
        assert (ROOT / "shaders" / f"{stem}.glsl").is_file()
        assert (ROOT / "shaders" / f"{stem}.spv").is_file()
    assert not (ROOT / "eng" / "res").exists()
