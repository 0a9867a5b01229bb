"""Helpers for the real-browser test: serve the app, drive Debian's headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_app(env: dict[str, str] | None = None):
    """Start ``streamlit run app.py`` on a free loopback port; yield its URL and the log path."""
    port = free_port()
    log = ROOT / "artifacts" / f"server-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("streamlit did not start: " + log.read_text()[-2000:])
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_idle(page, timeout: float = 180) -> None:
    """Wait for Streamlit's rerun to start (briefly) and then to finish."""
    status = page.locator('[data-testid="stStatusWidget"]')
    try:
        status.first.wait_for(state="visible", timeout=1500)
    except Exception:  # noqa: BLE001 - a fast rerun may finish before we look
        pass
    deadline = time.time() + timeout
    quiet = 0
    while time.time() < deadline:
        quiet = quiet + 1 if status.count() == 0 else 0
        if quiet >= 3:
            return
        page.wait_for_timeout(250)
    raise TimeoutError("app still running")


def shot(page, name: str) -> Path:
    """Screenshot of the whole app: Streamlit scrolls inside its main pane, so grow the viewport to fit it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]'); return m ? m.scrollHeight : 1000; }"
    )
    page.set_viewport_size({"width": size["width"], "height": min(max(int(height), 800), 6000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def goto_page(page, title: str) -> None:
    """Click a sidebar navigation link (keeps the session, unlike loading a new URL)."""
    links = page.locator('[data-testid="stSidebarNav"] a')
    links.filter(has=page.get_by_text(title, exact=True)).first.click()  # "Train" must not pick "Sweep · … training"
    wait_idle(page)


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


def key_css(key: str) -> str:
    """The element of the widget (or container) with key ``key``: Streamlit's class st-key-<key, dots as dashes>."""
    import re

    return ".st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())


def set_number(page, label: str, value: float) -> None:
    field = page.get_by_role("spinbutton", name=label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    wait_idle(page)


class Grid:
    """A ``st.data_editor`` drawn on a canvas: cells are found by the fixed column widths and row height the page
    gives it, and read back through the grid's own accessibility table (``glide-cell-<col>-<row>``)."""

    def __init__(self, page, scope: str, widths: list[int], header: int = 36, row: int = 35) -> None:
        self.page, self.scope, self.widths, self.header, self.row_px = page, scope, widths, header, row

    def text(self, row: int, col: int) -> str:
        cell = self.page.locator(f'{self.scope} [data-testid="glide-cell-{col}-{row}"]').first
        return cell.inner_text().strip()

    def row_of(self, label: str, col: int = 1) -> int:
        cells = self.page.locator(f'{self.scope} td[data-testid^="glide-cell-{col}-"]')
        texts = [cells.nth(i).inner_text().strip() for i in range(cells.count())]
        return texts.index(label)

    def _canvas_box(self) -> dict:
        """The canvas's box, after scrolling the page so the whole grid is in the viewport (a mouse click outside
        the viewport hits nothing; on a slower machine the grid may be drawn below the fold)."""
        canvas = self.page.locator(f"{self.scope} canvas").first
        canvas.wait_for()
        box = canvas.bounding_box()
        height = self.page.viewport_size["height"]
        if box is None or box["y"] < 0 or box["y"] + box["height"] > height:
            canvas.evaluate("e => e.scrollIntoView({block: 'center', inline: 'nearest'})")
            self.page.wait_for_timeout(400)
            box = canvas.bounding_box()
        return box

    def click(self, row: int, col: int) -> None:
        box = self._canvas_box()
        x = box["x"] + sum(self.widths[:col]) + self.widths[col] / 2
        y = box["y"] + self.header + self.row_px * row + self.row_px / 2
        self.page.mouse.click(x, y)
        self.page.wait_for_timeout(300)

    def toggle(self, row: int, col: int = 0) -> None:
        """Flip a checkbox cell (a click on a selected checkbox flips it; else Space does) and wait for the rerun."""
        before = self.text(row, col)
        self.click(row, col)
        if self.text(row, col) == before:
            self.page.keyboard.press("Space")
        wait_idle(self.page)
        self.page.wait_for_timeout(500)
        assert self.text(row, col) != before, f"cell ({row}, {col}) did not change"

    def type(self, row: int, col: int, value: str) -> None:
        """Select the cell, type (which opens its editor), and commit with Enter."""
        selected = self.page.locator(f'{self.scope} td[aria-selected="true"]')
        for _ in range(6):  # a grid drawn anew by the last rerun may take the first click as focus only
            self.click(row, col)
            if selected.count() and selected.first.get_attribute("data-testid") == f"glide-cell-{col}-{row}":
                break
            self.page.wait_for_timeout(700)
        else:
            where = shot(self.page, f"grid-unselectable-{col}-{row}")
            raise AssertionError(f"cell ({row}, {col}) could not be selected (see {where})")
        self.page.keyboard.type(value, delay=80)
        self.page.wait_for_timeout(400)
        self.page.keyboard.press("Enter")
        wait_idle(self.page)
        self.page.wait_for_timeout(500)
