"""game.book_data: the book's models fetched on demand, checked, never half-written.

A small made-up res folder is served over http.server on 127.0.0.1 (the real manifest's files
only where the book's data is at hand: the `book_data` tests)."""

import ast
import errno
import functools
import http.server
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from game import book_data

from .helpers import BOOK_RES, ROOT, book_file, compare_golden, render_headless

FILES = {  # made-up content, sizes that take several chunks
    "models/cube/cube.json": b'{"id": "cube"}',
    "models/cube/cube.vtx": np.random.default_rng(1).bytes(300_000),
    "models/sponza/a.jpg": np.random.default_rng(2).bytes(5_000),
}


class _Server:
    """http.server over `root` in a thread; `requests` lists the paths asked for."""

    def __init__(self, root: Path, truncate: str | None = None) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                if truncate and self.path.endswith(truncate):  # half a body, then hang up
                    data = (root / truncate).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    return
                super().do_GET()

            def log_message(self, *args):
                pass

        handler = functools.partial(Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path):
    """(server factory, manifest entries, destination): a mirror of FILES to download."""
    mirror = tmp_path / "mirror"
    for rel, data in FILES.items():
        (mirror / rel).parent.mkdir(parents=True, exist_ok=True)
        (mirror / rel).write_bytes(data)
    doc = book_data.make_manifest(mirror, FILES)
    entries = [book_data.FileEntry(**e) for e in doc["files"]]
    servers = []

    def serve(truncate=None):
        servers.append(_Server(mirror, truncate))
        return servers[-1]

    yield serve, mirror, entries, tmp_path / "data"
    for s in servers:
        s.close()


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.name.endswith(".part")]


def test_download_verifies_every_file_and_fetches_nothing_twice(served):
    serve, _, entries, dest = served
    server = serve()
    assert book_data.download(server.url, entries, dest, show_progress=False) == 3
    assert {e.path: (dest / e.path).read_bytes() for e in entries} == FILES
    assert book_data.is_complete(dest, entries) and leftovers(dest) == []
    asked = len(server.requests)
    assert book_data.download(server.url, entries, dest, show_progress=False) == 0
    assert len(server.requests) == asked  # already there and verified: not asked again


def test_a_changed_local_file_is_fetched_again(served):
    serve, _, entries, dest = served
    server = serve()
    book_data.download(server.url, entries, dest, show_progress=False)
    (dest / "models/sponza/a.jpg").write_bytes(b"edited")
    assert book_data.download(server.url, entries, dest, show_progress=False) == 1
    assert (dest / "models/sponza/a.jpg").read_bytes() == FILES["models/sponza/a.jpg"]


def test_a_corrupted_file_is_never_kept(served):
    serve, mirror, entries, dest = served
    data = bytearray(FILES["models/cube/cube.vtx"])
    data[1000] ^= 0xFF
    (mirror / "models/cube/cube.vtx").write_bytes(bytes(data))
    with pytest.raises(book_data.BookDataError, match="cube.vtx: checksum mismatch"):
        book_data.download(serve().url, entries, dest, show_progress=False)
    assert not (dest / "models/cube/cube.vtx").exists() and leftovers(dest) == []


def test_a_missing_file_is_an_http_error(served):
    serve, mirror, entries, dest = served
    (mirror / "models/sponza/a.jpg").unlink()
    with pytest.raises(book_data.BookDataError, match=r"a.jpg: HTTP 404"):
        book_data.download(serve().url, entries, dest, show_progress=False)
    assert not (dest / "models/sponza/a.jpg").exists() and leftovers(dest) == []


def test_a_connection_cut_mid_file_leaves_nothing(served):
    serve, _, entries, dest = served
    server = serve(truncate="models/cube/cube.vtx")
    with pytest.raises(book_data.BookDataError, match="cube.vtx"):
        book_data.download(server.url, entries, dest, show_progress=False)
    assert not (dest / "models/cube/cube.vtx").exists() and leftovers(dest) == []


def test_offline_is_one_clear_error(served):
    serve, _, entries, dest = served
    server = serve()
    url = server.url
    server.close()  # nothing listens there any more
    with pytest.raises(book_data.BookDataError, match="cannot download .* check the network"):
        book_data.download(url, entries, dest, show_progress=False)


def test_ctrl_c_mid_download_leaves_no_complete_looking_file(served, monkeypatch):
    serve, _, entries, dest = served
    monkeypatch.setattr(book_data, "CHUNK", 10_000)

    class InterruptingBar:  # tqdm's place: Ctrl-C on the 5th chunk, inside the 300 kB file
        def __init__(self, **kwargs):
            self.calls = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            self.calls += 1
            if self.calls == 5:
                raise KeyboardInterrupt

    monkeypatch.setattr(book_data, "tqdm", InterruptingBar)
    with pytest.raises(KeyboardInterrupt):
        book_data.download(serve().url, entries, dest, show_progress=False)
    assert not (dest / "models/cube/cube.vtx").exists() and leftovers(dest) == []


def run_module(*args, env_extra: dict, cwd=ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("ZVK_BOOK_RES", "ZVK_BOOK_URL")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_without_the_data_scene_sponza_says_how_to_fetch_it(tmp_path):
    """A pip-installed user has no Makefile: the line names the module, not `make book-data`."""
    result = run_module(
        "game", "--headless", "--scene", "sponza", env_extra={"XDG_DATA_HOME": str(tmp_path)}
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "python -m game.book_data" in lines[0], lines
    assert "make " not in lines[0] and "sponza" in lines[0], lines


def test_where_without_the_data_names_the_module(tmp_path):
    result = run_module("game.book_data", "--where", env_extra={"XDG_DATA_HOME": str(tmp_path)})
    assert result.returncode == 1
    assert "python -m game.book_data" in result.stdout and "make " not in result.stdout


def test_the_command_reports_a_bad_mirror_in_one_line(tmp_path, served):
    serve, mirror, _, _ = served
    result = run_module(
        "game.book_data",
        env_extra={"XDG_DATA_HOME": str(tmp_path), "ZVK_BOOK_URL": serve().url},
    )
    assert result.returncode == 1  # the mirror lacks the real manifest's files
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "HTTP 404" in lines[0], lines
    assert leftovers(tmp_path) == []


def test_a_local_copy_that_differs_is_refused(tmp_path):
    copy = tmp_path / "res"
    (copy / "models" / "cube").mkdir(parents=True)
    (copy / "models" / "cube" / "cube-mat.json").write_text("{}")
    result = run_module("game.book_data", env_extra={"ZVK_BOOK_RES": str(copy)})
    assert result.returncode == 1
    assert "cube-mat.json: missing or not the book's file" in result.stderr


@pytest.mark.book_data
def test_the_manifest_lists_what_the_books_models_need():
    listed = {e.path for e in book_data.load_manifest()}
    assert listed == set(book_data.book_files(BOOK_RES))
    book_data.verify(BOOK_RES, book_data.load_manifest())


@pytest.mark.book_data
def test_make_book_data_from_a_mirror_renders_the_golden_sponza(tmp_path, lavapipe, monkeypatch):
    """The whole path a stranger takes: download from a mirror, then --scene sponza."""
    server = _Server(BOOK_RES)
    try:
        env = {"XDG_DATA_HOME": str(tmp_path), "ZVK_BOOK_URL": server.url}
        result = run_module("game.book_data", env_extra=env)
    finally:
        server.close()
    assert result.returncode == 0, result.stderr
    entries = book_data.load_manifest()
    assert f"{len(entries)} files verified" in result.stdout
    res = tmp_path / "zvk-py" / "book-res"
    assert book_data.is_complete(res, entries)
    monkeypatch.delenv("ZVK_BOOK_RES", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # found where make book-data put it
    assert book_data.model_path("sponza") == res / "models" / "sponza" / "Sponza.json"
    image, messages = render_headless(lavapipe, Path("sponza"), None, (480, 270))
    assert messages == []
    compare_golden(image, "sponza_book", regenerate=False)


def test_every_book_file_the_suite_uses_is_downloaded():
    """Each `book_file(...)` of the tests names a file of game/book_data.json, so that after
    `make book-data` no test lacks its data (`book_file` itself refuses any other)."""
    used = set()
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "book_file":
                names = [a.value for a in node.args if isinstance(a, ast.Constant)]
                if len(names) == len(node.args):
                    used.add("/".join(("models", *names)))
    listed = {e.path for e in book_data.load_manifest()}
    assert {"models/cube/cube.gltf", "models/sponza/Sponza.json"} <= used
    assert used <= listed, used - listed
    with pytest.raises(AssertionError, match="not in game/book_data.json"):
        missing = "cube.blend"
        book_file("cube", missing)


class _Trickle:
    """A server that sends its headers, then one byte every `every_s` seconds, for ever."""

    def __init__(self, size: int, every_s: float) -> None:
        stop = self.stop = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                try:
                    while not stop.wait(every_s):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def trickle():
    servers = []

    def make(size=300_000, every_s=0.2):
        servers.append(_Trickle(size, every_s))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def test_a_server_that_trickles_is_given_up_on_at_the_minimum_rate(trickle, tmp_path, monkeypatch):
    """A byte every 0.2 s never trips the per-read timeout: the rate over a window does."""
    monkeypatch.setenv("ZVK_BOOK_RATE_WINDOW_S", "1")
    monkeypatch.setenv("ZVK_BOOK_MIN_RATE", "100")
    entries = [book_data.FileEntry("models/cube/cube.vtx", 300_000, "0" * 64)]
    with pytest.raises(book_data.BookDataError, match="bytes/s, slower than 100 .ZVK_BOOK_MIN"):
        book_data.download(trickle().url, entries, tmp_path, show_progress=False)
    assert leftovers(tmp_path) == []


def test_the_whole_download_has_a_deadline(trickle, tmp_path, monkeypatch):
    monkeypatch.setenv("ZVK_BOOK_DEADLINE_S", "1")
    monkeypatch.setenv("ZVK_BOOK_MIN_RATE", "0.001")
    entries = [book_data.FileEntry("models/cube/cube.vtx", 300_000, "0" * 64)]
    start = time.monotonic()
    with pytest.raises(book_data.BookDataError, match="not done after 1 s .ZVK_BOOK_DEADLINE_S"):
        book_data.download(trickle(every_s=0.1).url, entries, tmp_path, show_progress=False)
    assert time.monotonic() - start < 10 and leftovers(tmp_path) == []


def test_a_silent_server_is_bounded_by_the_deadline_not_the_read_timeout(
    trickle, tmp_path, monkeypatch
):
    monkeypatch.setenv("ZVK_BOOK_DEADLINE_S", "1")
    entries = [book_data.FileEntry("models/cube/cube.vtx", 300_000, "0" * 64)]
    start = time.monotonic()
    with pytest.raises(book_data.BookDataError, match="not done after 1 s"):
        book_data.download(trickle(every_s=60).url, entries, tmp_path, show_progress=False)
    assert time.monotonic() - start < 10 and leftovers(tmp_path) == []


@pytest.mark.parametrize("value", ["0", "-3", "nan", "inf", "soon"])
def test_a_bad_limit_in_the_environment_is_one_line(value, served, monkeypatch):
    serve, _, entries, dest = served
    monkeypatch.setenv("ZVK_BOOK_DEADLINE_S", value)
    with pytest.raises(book_data.BookDataError, match="ZVK_BOOK_DEADLINE_S=.*positive number"):
        book_data.download(serve().url, entries, dest, show_progress=False)


def _slow_download(trickle, tmp_path):
    """`python -m game.book_data` from a trickling server, under way (a .part file exists)."""
    server = trickle(size=10_000_000, every_s=0.05)
    env = {k: v for k, v in os.environ.items() if k not in ("ZVK_BOOK_RES", "ZVK_BOOK_URL")}
    env.update({"XDG_DATA_HOME": str(tmp_path), "ZVK_BOOK_URL": server.url})
    env["ZVK_BOOK_MIN_RATE"] = "0.001"
    proc = subprocess.Popen(
        [sys.executable, "-m", "game.book_data"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not leftovers(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(tmp_path), "the download did not start"
    time.sleep(0.3)
    return proc


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"])
def test_a_signal_mid_download_keeps_no_part_file(signame, trickle, tmp_path):
    proc = _slow_download(trickle, tmp_path)
    signum = getattr(signal, signame)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    expected = 130 if signame == "SIGINT" else 128 + signum
    assert proc.returncode == expected, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "nothing incomplete was kept" in lines[0], lines
    assert leftovers(tmp_path) == []


def test_the_part_file_of_a_killed_run_is_swept_by_the_next(trickle, tmp_path):
    proc = _slow_download(trickle, tmp_path)
    proc.kill()
    proc.communicate(timeout=30)
    parts = leftovers(tmp_path)
    assert parts, "SIGKILL left no .part file to sweep"
    name = re.fullmatch(r"\.(.+)\.\d+\.\w+\.part", parts[0].name)
    assert name, parts[0].name
    mine = parts[0].parent / f".{name[1]}.{os.getpid()}.keep.part"
    mine.write_bytes(b"")  # a live process's download: not swept
    book_data.sweep_parts(parts[0].parent / name[1])
    assert leftovers(tmp_path) == [mine]


def test_a_full_disk_says_so(served, monkeypatch):
    serve, _, entries, dest = served

    def full_mkstemp(prefix, suffix, dir):  # noqa: A002 (tempfile's name)
        return os.open("/dev/full", os.O_WRONLY), str(Path(dir) / f"{prefix}x{suffix}")

    monkeypatch.setattr(book_data.tempfile, "mkstemp", full_mkstemp)
    with pytest.raises(book_data.BookDataError, match="^no space left on the device of .*cube"):
        book_data.download(serve().url, entries, dest, show_progress=False)


def test_a_read_only_folder_is_one_line(served, monkeypatch):
    serve, _, entries, dest = served

    def refused(**kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(book_data.tempfile, "mkstemp", refused)
    with pytest.raises(
        book_data.BookDataError, match="cannot write into .*: the folder is read-only"
    ):
        book_data.download(serve().url, entries, dest, show_progress=False)


def test_a_file_where_the_data_folder_goes_is_one_line(served):
    serve, _, entries, dest = served
    dest.write_text("mine")
    with pytest.raises(book_data.BookDataError, match="is a file, not a folder"):
        book_data.download(serve().url, entries, dest, show_progress=False)
    assert dest.read_text() == "mine"


def test_a_file_where_a_subfolder_goes_is_one_line(served):
    serve, _, entries, dest = served
    (dest / "models").mkdir(parents=True)
    (dest / "models" / "cube").write_text("mine")
    with pytest.raises(book_data.BookDataError, match="a file is in the way of a folder"):
        book_data.download(serve().url, entries, dest, show_progress=False)
    assert (dest / "models" / "cube").read_text() == "mine"


def test_a_folder_where_a_file_goes_is_one_line(served):
    serve, _, entries, dest = served
    (dest / "models" / "cube" / "cube.vtx" / "inside").mkdir(parents=True)
    with pytest.raises(book_data.BookDataError, match="cube.vtx is a folder where the book's file"):
        book_data.download(serve().url, entries, dest, show_progress=False)
    assert (dest / "models" / "cube" / "cube.vtx" / "inside").is_dir() and leftovers(dest) == []


@pytest.mark.parametrize("url", ["http://[::1/x", "http://127.0.0.1:port/x", "ftp://x/y", "::"])
def test_a_malformed_mirror_url_is_one_line(url, tmp_path):
    result = run_module(
        "game.book_data", env_extra={"XDG_DATA_HOME": str(tmp_path), "ZVK_BOOK_URL": url}
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not a valid URL" in lines[0], lines
