"""Real-browser fixtures: a JupyterLab server started by the tests, and headless Debian Chromium.

JupyterLab serves a temporary copy of notebooks/ (`lab_root`): the server autosaves what it runs, and
tests never write into the working tree; a session guard fails the run if a committed notebook
changed anyway. Artifacts (screenshots, logs) go to $WORKBENCH_TEST_ARTIFACTS, by default
<tmp>/synthetic-data-workbench-test-artifacts, outside the working tree. Needs /usr/bin/chromium
(`make test` installs it) and playwright (never `playwright install`: we drive the system browser).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(
    os.environ.get("WORKBENCH_TEST_ARTIFACTS")
    or Path(tempfile.gettempdir()) / "synthetic-data-workbench-test-artifacts"
)
CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory) -> Path:
    """A temporary copy of the notebooks (as `notebooks/...`), the root JupyterLab serves."""
    root = tmp_path_factory.mktemp("lab-root")
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_out"))
    return root


@pytest.fixture(scope="session")
def lab_url(tmp_path_factory, lab_root):
    """Start JupyterLab on a free local port over `lab_root`, with a throwaway settings/workspace dir."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium chromium-driver)")
    port = _free_port()
    home = tmp_path_factory.mktemp("lab")
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [
        str(jupyter), "lab", "--no-browser", f"--port={port}", "--ServerApp.token=", "--ServerApp.password=",
        "--ServerApp.ip=127.0.0.1", "--allow-root", "--LabApp.expose_app_in_browser=True",
        f"--ServerApp.root_dir={lab_root}",
    ]  # fmt: skip
    news = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True, exist_ok=True)
    news.write_text('{"fetchNews": "false", "checkForUpdates": false}')
    # Render every cell: with the default windowing, cells outside the viewport skip rendering
    # (content-visibility), so their text reads as empty and brushes can miss.
    tracker = home / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text('{"windowingMode": "none"}')
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "jupyterlab.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        for _ in range(180):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"JupyterLab exited early; see {ARTIFACTS / 'jupyterlab.log'}")
                time.sleep(1)
        else:
            pytest.fail("JupyterLab did not start in 180 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageWatch:
    """A page plus what it did: console errors and requests to hosts other than localhost."""

    def __init__(self, page):
        self.page = page
        self.console_errors: list[str] = []
        self.foreign_requests: list[str] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(f"pageerror: {e}"))
        page.on("request", self._request)

    def _request(self, r) -> None:
        host = urlparse(r.url).hostname
        if host not in ("127.0.0.1", "localhost", None) and not r.url.startswith(("data:", "blob:")):
            self.foreign_requests.append(r.url)


@pytest.fixture
def watched_page(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    yield PageWatch(page)
    page.close()


def run_notebook(watch: PageWatch, base: str, rel: str, *, timeout: float = 600) -> dict:
    """Open `rel` in JupyterLab, run all cells, wait for the kernel, return what the page shows."""
    page = watch.page
    page.goto(f"{base}/lab/tree/{rel}?reset", wait_until="domcontentloaded")
    page.wait_for_function("window.jupyterapp && window.jupyterapp.shell", timeout=120_000)
    page.wait_for_selector(".jp-Notebook", timeout=120_000)
    page.wait_for_function("() => !document.querySelector('.jp-Dialog')", timeout=60_000)
    page.wait_for_selector(
        ".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-Toolbar-kernelStatus", timeout=120_000
    )
    time.sleep(2)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    busy_js = "() => [...document.querySelectorAll('.jp-InputArea-prompt')].some(p => p.textContent.includes('*'))"
    deadline = time.time() + timeout
    time.sleep(3)
    while time.time() < deadline:
        if not page.evaluate(busy_js):
            time.sleep(3)
            if not page.evaluate(busy_js):
                break
        time.sleep(2)
    else:
        pytest.fail(f"{rel} did not finish in {timeout} s")
    time.sleep(3)  # let widgets and charts render
    stats = page.evaluate(
        """() => ({
        cells: document.querySelectorAll('.jp-CodeCell').length,
        executed: [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].filter(p => /\\[\\d+\\]/.test(p.textContent)).length,
        errors: [...document.querySelectorAll('[data-mime-type="application/vnd.jupyter.error"]')].map(e => e.innerText.slice(-500)),
        charts: document.querySelectorAll('.vega-embed svg, .vega-embed canvas').length,
        widgets: document.querySelectorAll('.jupyter-widgets').length,
        widget_errors: [...document.querySelectorAll('.jp-OutputArea-output')].filter(e => /Error displaying widget|Model not found|Failed to load model/.test(e.innerText)).length,
    })"""
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stats["screenshots"] = screenshot_notebook(page, Path(rel).stem)
    return stats


def drag_brush(page, chart, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag a brush over `chart` (a locator) from `start` to `end`, given as fractions of its box."""
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert box is not None, "the chart has no box: is it rendered?"
    x0, y0 = box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1]
    x1, y1 = box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
    page.mouse.move(x1, y1, steps=5)
    page.mouse.up()


def screenshot_notebook(page, stem: str, max_shots: int = 12) -> list[str]:
    """JupyterLab scrolls inside the notebook panel: capture it viewport by viewport, top to bottom."""
    scroller = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer"
    page.evaluate(f"document.querySelector('{scroller}').scrollTop = 0")
    shots = []
    for i in range(max_shots):
        time.sleep(1.0)
        shot = ARTIFACTS / f"{stem}-{i + 1:02d}.png"
        page.screenshot(path=str(shot))
        shots.append(str(shot))
        moved = page.evaluate(
            f"""() => {{ const el = document.querySelector('{scroller}'); const before = el.scrollTop;
            el.scrollTop = before + el.clientHeight * 0.9; return el.scrollTop > before; }}"""
        )
        if not moved:
            break
    return shots


@pytest.fixture(scope="session", autouse=True)
def _working_tree_untouched():
    """The committed notebooks are byte-identical after the browser tests (they run on `lab_root`)."""
    before = {p: p.read_bytes() for p in (ROOT / "notebooks").glob("*.ipynb")}
    yield
    after = {p: p.read_bytes() for p in (ROOT / "notebooks").glob("*.ipynb")}
    changed = sorted(p.name for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    strays = [p.name for p in (ROOT / "notebooks").iterdir() if p.name in (".ipynb_checkpoints", "_out")]
    for p in changed:  # put the committed content back, then fail: a test wrote into the tree
        if p in {q.name for q in before}:
            (ROOT / "notebooks" / p).write_bytes(before[ROOT / "notebooks" / p])
    assert not changed and not strays, f"browser tests wrote into the working tree: {changed + strays}"
