"""What a pip-installed user reads: no Makefile and no scripts/ to point at, SDL_BINARY_PATH
named only where the user set it, VMA's header by its absolute path or not at all."""

import ast
import re
import sys
from pathlib import Path

import pytest

from .helpers import ROOT
from .test_cli import run_game


def message_strings(path):
    """The string constants of a module that are not docstrings (f-strings' parts included)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in docstrings
    ]  # fmt: skip


def test_no_message_tells_the_user_to_run_make():
    phony = next(x for x in (ROOT / "Makefile").read_text().splitlines() if x.startswith(".PHONY"))
    targets = re.compile(rf"\bmake ({'|'.join(phony.split(':')[1].split())})\b")
    assert targets.search("run `make book-data` first")
    sources = [*(ROOT / "eng").rglob("*.py"), *(ROOT / "game").rglob("*.py")]
    said = [(p.name, s) for p in sources for s in message_strings(p) if targets.search(s)]
    assert said == []


@pytest.fixture
def no_sdl3(monkeypatch):
    """pysdl3 imported without a libSDL3 found (its functions would be stubs)."""
    import types

    fake = types.ModuleType("sdl3")
    fake.SDL_GET_BINARY = lambda name: None
    monkeypatch.setitem(sys.modules, "sdl3", fake)


def test_sdl_binary_path_is_named_only_where_the_user_set_it(no_sdl3, monkeypatch, tmp_path):
    from eng import sdl_loader

    monkeypatch.setattr(sdl_loader, "USER_SDL_PATH", None)
    monkeypatch.setattr(sdl_loader, "SETUP_SCRIPT", tmp_path / "no-checkout" / "setup.sh")
    with pytest.raises(sdl_loader.WindowError) as installed:
        sdl_loader.import_sdl()
    assert "SDL_BINARY_PATH" not in str(installed.value) and "scripts/" not in str(installed.value)
    assert "install SDL3" in str(installed.value)
    monkeypatch.setattr(sdl_loader, "SETUP_SCRIPT", ROOT / "scripts" / "setup.sh")
    with pytest.raises(sdl_loader.WindowError) as checkout:
        sdl_loader.import_sdl()
    assert "run scripts/setup.sh" in str(checkout.value)
    assert "SDL_BINARY_PATH" not in str(checkout.value)
    monkeypatch.setattr(sdl_loader, "USER_SDL_PATH", str(tmp_path))
    with pytest.raises(sdl_loader.WindowError) as user_set:
        sdl_loader.import_sdl()
    assert f"SDL_BINARY_PATH={tmp_path}" in str(user_set.value)


def test_info_names_the_vma_header_by_its_absolute_path_or_not_at_all(tmp_path):
    from eng.vk.vma import shown_build

    result = run_game("--info")
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("VMA ")]
    match = re.fullmatch(r"VMA +(\d+\.\d+\.\d+)(?: \((.+)\))?", line)
    assert match, line
    assert match[2] is None or Path(match[2]).is_absolute() and Path(match[2]).is_file()
    header = tmp_path / "vk_mem_alloc.h"
    header.write_text("")
    assert shown_build(f"3.2.1 ({header})") == f"3.2.1 ({header})"
    assert shown_build(f"3.2.1 ({tmp_path / 'gone.h'})") == "3.2.1"  # a wheel's build folder
    assert shown_build("3.2.1 (build/vma/usr/include/vk_mem_alloc.h)") == "3.2.1"


def test_the_build_records_the_header_by_its_absolute_path(tmp_path, monkeypatch):
    from eng.vk._vma_build import _source

    (tmp_path / "include").mkdir()
    (tmp_path / "include" / "vk_mem_alloc.h").write_text("// Version 3.9.8 of VMA\n")
    monkeypatch.chdir(tmp_path)
    source = _source("include")
    assert f'"3.9.8 ({tmp_path / "include" / "vk_mem_alloc.h"})"' in source
