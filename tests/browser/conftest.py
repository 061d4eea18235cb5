"""A JupyterLab server on 127.0.0.1 and a headless Debian Chromium driven by Playwright.

Never `playwright install`: the tests use the system Chromium at /usr/bin/chromium. In CI (the
`CI` environment variable is set) a missing Chromium fails the tests instead of skipping them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Known to work with Debian's Chromium here; without --disable-background-networking Chromium
# keeps making (refused) outbound calls.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT = 90.0


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() not in {"", "0", "false", "no"}:
        pytest.fail(f"{CHROMIUM} is missing: CI installs Debian's chromium (see .ci/run)")
    # One reason for every browser test, so pytest's summary folds them into one line.
    pytest.skip(
        f"browser tests skipped: no {CHROMIUM}; `python3 tasks.py test --with-browser` "
        "installs Debian's chromium and runs them"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        # Waiting for another process to bind its port: nothing to block on but the clock.
        time.sleep(0.2)
    raise RuntimeError(f"JupyterLab did not start in time:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM lets the server shut its kernels down; SIGKILL the group if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class Lab(NamedTuple):
    """A running JupyterLab: its URL, the folder it serves, and its user-settings folder."""

    url: str
    root: Path
    settings: Path

    def set_theme(self, theme: str) -> None:
        """Pick "JupyterLab Light" or "JupyterLab Dark" for pages loaded from now on."""
        target = self.settings / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"theme": theme}))

    def save_widget_state(self, on: bool) -> None:
        """Lab's "Save Widget State Automatically", for pages loaded from now on."""
        target = (
            self.settings / "@jupyter-widgets" / "jupyterlab-manager" / "plugin.jupyterlab-settings"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"saveState": on}))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A JupyterLab serving a copy of notebooks/ with no token."""
    _require_chromium()
    root = tmp_path_factory.mktemp("lab")
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(notebook, root / notebook.name)
    state = tmp_path_factory.mktemp("lab-state")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
    }
    for name in ("LUMA_API_KEY", "LUMA_BASE_URL"):
        env.pop(name, None)
    # Start the notebook's kernel without asking, and no "Jupyter news?" toast over the widgets.
    settings = state / "settings" / "@jupyterlab"
    for plugin, values in {
        # Render every cell: by default Lab skips the layout of cells outside the viewport.
        "notebook-extension/tracker": {"autoStartDefaultKernel": True, "windowingMode": "none"},
        "apputils-extension/notification": {"fetchNews": "false"},
    }.items():
        target = settings / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    log = state / "lab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--allow-root",
                "--no-browser",
                f"--port={port}",
                "--ServerApp.port_retries=0",
                "--ServerApp.ip=127.0.0.1",
                "--IdentityProvider.token=",
                "--ServerApp.password=",
                f"--ServerApp.root_dir={root}",
                f"--LabApp.user_settings_dir={state / 'settings'}",
                f"--LabApp.workspaces_dir={state / 'workspaces'}",
            ],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_serving(url, process, log)
        yield Lab(url, root, state / "settings")
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


ARTIFACTS = ROOT / "test-artifacts" / "browser"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def pages(browser: Any, request: pytest.FixtureRequest) -> Iterator[list[Any]]:
    """Pages opened by a test; on failure each is saved as a full-page screenshot."""
    opened: list[Any] = []
    yield opened
    failed = request.node.stash.get(_FAILED, False)
    for index, page in enumerate(opened):
        if failed and not page.is_closed():
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]+", "-", request.node.name)
            page.screenshot(path=str(ARTIFACTS / f"failure-{name}-{index}.png"), full_page=True)
        if not page.is_closed():
            page.close()
