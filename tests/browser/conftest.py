"""Browser tests: the real server (``proofdesk demo`` + ``proofdesk serve``) driven by Debian's Chromium.

The server runs as a child process on a free localhost port with a temporary data dir, seeded by the demo
command exactly as ``./scripts/serve`` does. Chromium is Debian's (``/usr/bin/chromium``, installed by
``scripts/setup-system``); Playwright's own browser downloads are never used. Screenshots of every page at a
desktop and a phone width go to ``test-artifacts/screenshots/`` (gitignored).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
_CLI = "from proofdesk.cli.main import main; main()"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A running ``proofdesk serve`` with demo data."""

    base: str
    data_dir: Path
    demo: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("console-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROOFDESK_")}
    env["PROOFDESK_LOCAL_WORKERS"] = "1"
    seeded = subprocess.run([sys.executable, "-c", _CLI, "demo", "--data-dir", str(data_dir)], env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert seeded.returncode == 0, seeded.stderr
    port = _free_port()
    log = (data_dir / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", _CLI, "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("server did not start:\n" + (data_dir / "server.log").read_text())
            time.sleep(0.3)
        demo = json.loads((data_dir / "demo-cases.json").read_text(encoding="utf-8"))
        yield Server(base, data_dir, demo)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture()
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport=DESKTOP, locale="en-US")
    try:
        yield ctx
    finally:
        ctx.close()


def sign_in(page: Any, server: Server, role: str) -> None:
    """Use the sign-in page's demo button for ``role`` (the token travels in an HttpOnly cookie)."""
    page.goto(server.base + "/console/signin")
    page.get_by_test_id(f"demo-{role}").click()
    page.wait_for_load_state("networkidle")


def screenshots(page: Any, name: str) -> list[Path]:
    """Full-page screenshots of the current page at the desktop and the phone width; returns the files."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    out = []
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.wait_for_load_state("networkidle")
        path = SCREENSHOTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 5_000, f"{path} is (nearly) empty"
        out.append(path)
    page.set_viewport_size(DESKTOP)
    return out


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
