"""In a real browser, Debian's headless Chromium driven by Selenium: `--vma-map FILE.svg` paints
the map and names the allocation under the pointer (its <title>, which the browser's tooltip
shows), and scripts/trace_screenshot.py pictures a `--trace` file in DevTools. Skips where
Chromium, chromedriver or Selenium is missing: `make browser` installs them."""

import importlib.util
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from game import cli

from .helpers import ROOT
from .test_trace import SVG
from .test_vma_visible import allocations_of

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCRIPT = ROOT / "scripts" / "trace_screenshot.py"
FLAGS = ["--headless", "--window-size=2000,1200", "--force-device-scale-factor=1"]
pytestmark = pytest.mark.skipif(
    not (CHROMIUM.is_file() and CHROMEDRIVER.is_file() and find_spec("selenium")),
    reason="needs Debian's chromium and chromium-driver and Selenium: run `make browser`",
)

# [name, size] of each allocation shape that has a <title>
TITLED = """return [...document.querySelectorAll('rect[data-kind="allocation"]')]
    .filter(r => r.querySelector(':scope > title')?.textContent)
    .map(r => [r.dataset.name, Number(r.dataset.size)]);"""
FIND = """return [...document.querySelectorAll('rect[data-kind="allocation"]')]
    .find(r => r.dataset.name === arguments[0] && r.dataset.offset === arguments[1]);"""
TRACK = """window.pointer = null;
document.addEventListener('mousemove', e => { window.pointer = [e.clientX, e.clientY]; });"""
# the element under the pointer, the innermost hovered one, and the first one's <title>
UNDER_POINTER = """const under = document.elementFromPoint(...window.pointer);
return [under, [...document.querySelectorAll(':hover')].pop(),
        under.querySelector(':scope > title')?.textContent ?? null];"""
BOXES = """return [...document.querySelectorAll('rect[data-kind="memory"]')].map(r => {
    const b = r.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; });"""


def chromium(profile: Path) -> "Chrome":
    """Headless Chromium through Debian's chromedriver, offline, with a fresh profile: started
    the way scripts/trace_screenshot.py starts it."""
    spec = importlib.util.spec_from_file_location("trace_screenshot", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    flags = [*FLAGS, f"--user-data-dir={profile}"]
    return script.start_chromium(str(CHROMIUM), str(CHROMEDRIVER), flags)


def colours(image: Image.Image) -> set[tuple[int, int, int]]:
    return {colour for _, colour in image.getcolors(image.width * image.height) or []}


def test_chromium_shows_the_svg_map_and_names_the_allocation_under_the_pointer(
    tmp_path: Path,
) -> None:
    from selenium.webdriver import ActionChains

    map_path, report_path = tmp_path / "map.svg", tmp_path / "report.json"
    assert cli.main(
        ["--headless", "--validation", "--frames", "1", "--size", "32x24",
         "--vma-map", str(map_path), "--vma-report", str(report_path)]
    ) == 0  # fmt: skip
    allocations = allocations_of(json.loads(report_path.read_text()))
    largest = max(allocations, key=lambda a: int(a["Size"]))
    name, size, offset = largest.get("Name", ""), int(largest["Size"]), largest.get("Offset", 0)
    assert name, largest
    fills = {  # "rgb(r,g,b)" of every allocation shape
        tuple(int(v) for v in r.get("fill", "")[4:-1].split(","))
        for r in ET.parse(map_path).getroot().iter(f"{SVG}rect")
        if r.get("data-kind") == "allocation"
    }

    with chromium(tmp_path / "profile") as driver:
        driver.get(map_path.as_uri())
        titled = sorted(tuple(t) for t in driver.execute_script(TITLED))
        assert titled == sorted((a.get("Name", ""), int(a["Size"])) for a in allocations)

        shape = driver.execute_script(FIND, name, str(offset))
        assert shape is not None, f"no shape for {name} at offset {offset}"
        driver.execute_script(TRACK)
        ActionChains(driver).move_to_element(shape).perform()
        under, hovered, title = driver.execute_script(UNDER_POINTER)
        assert under == shape and hovered == shape
        assert title is not None, f"the shape of {name} has no <title>"
        assert title.startswith(f"{name}: ") and f"({size} bytes) at offset {offset} " in title

        shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
        in_bars = set().union(*(colours(shot.crop(box)) for box in driver.execute_script(BOXES)))
    assert len(fills) >= 3 and fills <= in_bars, (fills, in_bars)
    assert len(colours(shot)) > len(fills) + 3  # text, edges, free space and background besides


def test_the_trace_screenshot_script_pictures_a_trace_in_devtools(tmp_path: Path) -> None:
    """scripts/trace_screenshot.py (docs/images/trace.png) on a small trace: a picture of the
    tracks, not a blank page, written through a temporary name."""
    trace, png = tmp_path / "t.json", tmp_path / "trace.png"
    assert cli.main(["--headless", "--frames", "12", "--size", "64x48", "--trace", str(trace)]) == 0
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(trace), str(png)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json", "trace.png"]
    picture = Image.open(png).convert("RGB")
    assert picture.width == 1400 and picture.height > 200
    assert len(colours(picture)) > 20  # the spans' colours, text and lines


@pytest.mark.parametrize(
    ("trace", "png", "said"),
    [
        ("fifo", "out.png", "is a FIFO, not a regular file"),
        ("list", "out.png", "not a trace-event file"),
        ("empty", "out.png", "no three frames in a row"),
        ("empty", "out.txt", "must end in .png"),
        ("empty", "missing/out.png", "does not exist"),
    ],
)
def test_the_trace_screenshot_script_refuses_bad_input_in_one_line(
    tmp_path: Path, trace: str, png: str, said: str
) -> None:
    path = tmp_path / "t.json"
    if trace == "fifo":
        os.mkfifo(path)  # read without waiting for a writer, or it would hang
    else:
        path.write_text('{"traceEvents": []}' if trace == "empty" else "[1, 2]")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(path), str(tmp_path / png)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and said in lines[0], result.stderr
    assert not (tmp_path / png).exists()
