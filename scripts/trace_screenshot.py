"""Picture of a `--trace` file in Chromium DevTools' Performance panel, made offline.

    python -m game --scene sponza --headless --frames 60 --trace sponza.json
    python scripts/trace_screenshot.py sponza.json docs/images/trace.png

It starts a headless Chromium through chromedriver (Selenium), opens the DevTools front end
that Chromium serves on its own debugging port, loads the trace through the Performance
panel's "Load trace" file input and opens its tracks (main thread, GPU, start-up). The PNG
has two views of the same trace, one above the other:

- three GPU frames, N-1 to N+1, over the main thread's stages; frame N+1's `submit` is
  selected (the blue mark at the start of GPU frame N), and each long `wait` is a fence wait
  that ends when the GPU finishes a frame;
- 1 ms around that submit (DevTools zooms no closer): frame N+1's `wait` ends, then its
  `acquire`, `uniforms`, `record` or `reuse`, `submit` and `present` run while the GPU has
  started frame N.

N is the frame nearest the middle of the trace whose GPU span holds frame N+1's submit, or
--frame. Nothing is fetched from the network.
Needs Chromium and chromedriver (Debian: chromium, chromium-driver), selenium and Pillow.
"""

import argparse
import io
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

# offline: nothing may reach for the network (updates, sync, QUIC probes)
OFFLINE_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ZOOM_US = 1000.0  # the narrowest window DevTools shows
TRACE_LIMIT = 512 * 1024 * 1024  # bytes: --trace's 300 frames take about 0.3 MB

# JavaScript run in the DevTools page, each as the body of an async function of `args`.
FILE_INPUT_JS = """
const find = (root) => root.querySelector("input[type=file]") || [...root.querySelectorAll("*")]
  .filter((e) => e.shadowRoot).map((e) => find(e.shadowRoot)).find((e) => e);
return find(document);
"""
LOADED_JS = """
const timeline = await import("./panels/timeline/timeline.js");
return timeline.TimelinePanel.TimelinePanel.instance().hasActiveTrace();
"""
# Hide the side and bottom panes, open every track, select `stage` of `frame`; the top and
# bottom of the tracks in the page.
SETUP_JS = """
const [frame, stage] = args;
const timeline = await import("./panels/timeline/timeline.js");
const panel = timeline.TimelinePanel.TimelinePanel.instance();
panel.splitWidget().hideSidebar();  // insights and annotations
panel.getFlameChart().detailsSplitWidget.hideSidebar();  // the summary, empty for these events
const chart = panel.getFlameChart().getMainFlameChart();
chart.timelineData().groups.forEach((_, i) => chart.expandGroup(i));
const data = panel.getFlameChart().getMainDataProvider();
for (let i = 0; i < data.timelineData().entryStartTimes.length; i++) {
  const event = data.eventByIndex(i);
  if (event && event.name === stage && event.args && event.args.frame === frame) {
    panel.select(timeline.TimelineSelection.selectionFromEvent(event));
    const top = chart.canvasBoundingClientRect().top;
    return [top, top + chart.totalContentHeight()];
  }
}
return null;
"""
WINDOW_JS = """
const [min, max] = args;
const bounds = await import("./services/trace_bounds/trace_bounds.js");
bounds.TraceBounds.BoundsManager.instance().setTimelineVisibleWindow(
  {min, max, range: max - min});
await new Promise((done) => setTimeout(done, 1000));
"""


def width(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if not 400 <= value <= 4000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 400 to 4000")
    return value


def trace_events(path: Path) -> list[dict[str, Any]]:
    """The events of a trace file (FileProblemError if it cannot be one)."""
    from eng.com.safe_io import FileProblemError, parse_json, read_file

    try:
        doc = parse_json(read_file(path, TRACE_LIMIT, "a trace"))
    except FileProblemError as exc:
        raise FileProblemError(f"the trace {path}: {exc}") from None
    events = doc.get("traceEvents") if isinstance(doc, dict) else None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise FileProblemError(f"the trace {path}: not a trace-event file (no traceEvents list)")
    return events


def fail(message: str) -> NoReturn:
    print(f"trace_screenshot.py: {message}", file=sys.stderr)
    sys.exit(1)


def pick_frame(events: list[dict[str, Any]], frame: int | None) -> tuple[int, list[float]]:
    """GPU frame N and the two windows, in the trace's microseconds: GPU frames N-1 to N+1,
    and ZOOM_US around frame N+1's submit, from a little before its fence wait ends."""
    spans = [  # a frame's spans, as --trace writes them
        e
        for e in events
        if e.get("ph") == "X"
        and isinstance(e.get("args"), dict)
        and isinstance(e["args"].get("frame"), int)
        and all(isinstance(e.get(key), int | float) for key in ("ts", "dur"))
    ]
    gpu = {e["args"]["frame"]: e for e in spans if e.get("tid") == 2}
    stage = {(e["args"]["frame"], e.get("name")): e for e in spans if e.get("tid") == 1}
    shown = [
        n
        for n in sorted(gpu)
        if {n - 1, n + 1} <= gpu.keys() and {(n + 1, "wait"), (n + 1, "submit")} <= stage.keys()
    ]
    if not shown:
        fail("the trace has no three frames in a row with GPU spans (written by --trace?)")
    if frame is None:
        holds = [
            n for n in shown if 0 <= stage[n + 1, "submit"]["ts"] - gpu[n]["ts"] < gpu[n]["dur"]
        ]
        frame = min(holds or shown, key=lambda n: abs(n - shown[len(shown) // 2]))
    elif frame not in shown:
        fail(f"frame {frame} cannot be shown: pick one of {shown[0]} to {shown[-1]}")
    left, right = gpu[frame - 1]["ts"], gpu[frame + 1]["ts"] + gpu[frame + 1]["dur"]
    pad = (right - left) / 30
    wait = stage[frame + 1, "wait"]
    zoom = wait["ts"] + wait["dur"] - ZOOM_US / 4
    return frame, [left - pad, right + pad, zoom, zoom + ZOOM_US]


def start_chromium(chromium: str, chromedriver: str, flags: list[str]) -> Any:
    """A Selenium driver of `chromium` through `chromedriver` (never selenium-manager's
    downloads), offline, with `flags` besides (tests/test_browser.py starts it here too)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*OFFLINE_FLAGS, *flags]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(chromedriver), options=options)


def screenshots(args: argparse.Namespace, frame: int, windows: list[float]) -> Any:
    """Screenshots (PNG bytes) of DevTools showing each window, and where the tracks are."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    with tempfile.TemporaryDirectory() as profile:
        flags = [
            "--headless=new",
            "--remote-allow-origins=*",  # the DevTools page talks to the debugging port
            f"--user-data-dir={profile}",
        ]
        driver = start_chromium(args.chromium, args.chromedriver, flags)
        try:

            def run(body: str, *values: object) -> Any:
                """Run `body` as an async function of `args` in the page; its result."""
                return driver.execute_async_script(
                    "const done = arguments[arguments.length - 1];"
                    f"(async (args) => {{ {body} }})([...arguments].slice(0, -1))"
                    ".then(done, (error) => done('error: ' + error));",
                    *values,
                )

            driver.set_window_size(args.width, 600)
            extra = 600 - driver.execute_script("return innerHeight")
            driver.set_window_size(args.width, 600 + extra)  # the page, not the window, 600
            port = driver.capabilities["goog:chromeOptions"]["debuggerAddress"]
            page = driver.execute_cdp_cmd("Target.createTarget", {"url": "about:blank"})
            driver.get(
                f"http://{port}/devtools/devtools_app.html"
                f"?ws={port}/devtools/page/{page['targetId']}&panel=timeline"
            )
            wait = WebDriverWait(driver, 30)
            wait.until(lambda d: run(FILE_INPUT_JS)).send_keys(str(args.trace.resolve()))
            wait.until(lambda d: run(LOADED_JS) is True)

            last: list[Any] = [None]

            def submit_shown(_: Any) -> Any:  # the panel fills its tracks a while after loading
                last[0] = run(SETUP_JS, frame + 1, "submit")
                return last[0] if isinstance(last[0], list) else None

            try:
                tracks = wait.until(submit_shown)
            except TimeoutException:
                fail(f"DevTools did not show frame {frame + 1}'s submit within 30 s: {last[0]}")
            shots = []
            for window in (windows[:2], windows[2:]):
                run(WINDOW_JS, *window)
                shots.append(driver.get_screenshot_as_png())
            return shots, tracks
        finally:
            driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Picture of a --trace file in Chromium DevTools' Performance panel: three "
        "GPU frames over the main thread's stages, and 1 ms around one frame's submit."
    )
    parser.add_argument("trace", type=Path, help="a trace .json written by --trace")
    parser.add_argument("png", type=Path, help="the PNG file to write")
    parser.add_argument("--frame", type=int, help="the GPU frame N in the middle (default: auto)")
    parser.add_argument("--width", type=width, default=1400, help="pixels (default: 1400)")
    parser.add_argument("--chromium", default=shutil.which("chromium"), help="Chromium binary")
    parser.add_argument("--chromedriver", default=shutil.which("chromedriver"))
    args = parser.parse_args()

    try:
        from PIL import Image
        from selenium.common.exceptions import WebDriverException
    except ImportError as error:
        fail(f"needs the module {error.name} (pip install selenium Pillow)")
    if not args.chromium or not args.chromedriver:
        fail("needs Chromium and chromedriver (Debian: apt install chromium chromium-driver)")
    from eng.com.safe_io import FileProblemError, write_bytes_atomic
    from game.options import UsageError, output_path

    try:
        png = output_path("png", args.png, (".png",))
        events = trace_events(args.trace)
    except (UsageError, FileProblemError) as error:
        fail(str(error))
    frame, windows = pick_frame(events, args.frame)
    try:
        shots, (top, bottom) = screenshots(args, frame, windows)
    except WebDriverException as error:
        fail(f"Chromium or DevTools failed: {error.msg}")

    top, bottom = round(top), round(bottom)
    above, below = (Image.open(io.BytesIO(shot)) for shot in shots)
    views = above.crop((0, 0, args.width, bottom)), below.crop((0, top, args.width, bottom))
    picture = Image.new("RGB", (args.width, views[0].height + 3 + views[1].height), "#9aa0a6")
    picture.paste(views[0], (0, 0))
    picture.paste(views[1], (0, views[0].height + 3))  # below a grey line
    data = io.BytesIO()
    picture.save(data, "PNG", optimize=True)
    try:
        write_bytes_atomic(png, data.getvalue())
    except OSError as error:
        fail(f"{png}: cannot write it ({error.strerror or error})")
    print(f"{png}: GPU frames {frame - 1} to {frame + 1}, 1 ms around frame {frame + 1}'s submit")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Chromium is closed by then (screenshots' finally)
        sys.exit(130)
