"""Run ``proofdesk serve`` (and Dramatiq workers) as real processes for the case-service integration tests.

Each test gets its own data folder, its own PostgreSQL database (``pd_case_<hex>``) and its own Dramatiq
namespace on Redis db 15, so runs by other engineers on the same machine never meet.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image, ImageDraw
from sqlalchemy import create_engine, text

from tests.conftest import LISTINGS

PG_URL = os.environ.get("PROOFDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PROOFDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_RUN = [sys.executable, "-c", "from proofdesk.cli.main import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database URL, dropped afterwards."""
    name = f"pd_case_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Stack:
    """The server (and, for Dramatiq, worker processes) with one environment."""

    def __init__(self, data_dir: Path, *, database_url: str | None, backend: str, workers: int = 1) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PROOFDESK_")}
        self.env.update(
            {
                "PROOFDESK_DATA_DIR": str(data_dir),
                "PROOFDESK_ENVIRONMENT": "test",
                "PROOFDESK_JOB_BACKEND": backend,
                "PROOFDESK_LOCAL_WORKERS": str(workers),
                "PROOFDESK_REDIS_URL": REDIS_URL,
                "PROOFDESK_DRAMATIQ_NAMESPACE": f"pdtest-{uuid.uuid4().hex[:8]}",
            }
        )
        if database_url:
            self.env["PROOFDESK_DATABASE_URL"] = database_url
        self.backend = backend
        self.workers = workers
        self.server: subprocess.Popen[bytes] | None = None
        self.dramatiq: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "server.log"
        self._clients: list[Api] = []

    def api(self) -> Api:
        """A client of this stack, closed by :meth:`stop`."""
        client = Api(self.url)
        self._clients.append(client)
        return client

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*_RUN, *args], env=self.env, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> None:
        with self.log.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.server = subprocess.Popen(
                [*_RUN, "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if self.backend == "dramatiq" and self.dramatiq is None:
            with (self.data_dir / "dramatiq.log").open("ab") as worker_log:
                self.dramatiq = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "dramatiq",
                        "proofdesk.workers.dramatiq_actors",
                        "--processes",
                        str(self.workers),
                        "--threads",
                        "2",
                    ],
                    env=self.env,
                    stdout=worker_log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server did not become healthy: {self.log.read_text()[-3000:]}")

    def kill_server(self) -> None:
        """SIGKILL the server and its local worker processes (a crash, not a shutdown)."""
        if self.server is not None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(timeout=30)
            self.server = None

    def stop(self) -> None:
        for client in self._clients:
            client.client.close()
        self._clients.clear()
        for proc in (self.server, self.dramatiq):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
        self.server = self.dramatiq = None


class Api:
    """A thin httpx wrapper that fails loudly with the response body."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=60)

    def call(
        self, method: str, url: str, token: str | None, expect: int | tuple[int, ...] = (200, 201), **kw: Any
    ) -> Any:
        headers = kw.pop("headers", {}) | ({"Authorization": f"Bearer {token}"} if token else {})
        response = self.client.request(method, url, headers=headers, **kw)
        allowed = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in allowed, f"{method} {url}: {response.status_code} {response.text[:2000]}"
        return response.json() if response.content and "json" in response.headers.get("content-type", "") else None

    def wait_case(
        self, case_id: str, token: str, until: Callable[[dict[str, Any]], bool], timeout: float = 180
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        case: dict[str, Any] = {}
        while time.monotonic() < deadline:
            case = self.call("GET", f"/cases/{case_id}", token)
            if until(case):
                return case
            time.sleep(0.3)
        raise AssertionError(
            f"case {case_id} did not get there in {timeout} s: {case.get('status')}, pending {case.get('pending_jobs')}"
        )


def listing_photo(index: int = 5, side: int = 640) -> Image.Image:
    """A real product photo from ../shared/data/listings, reduced."""
    path = sorted(LISTINGS.glob("*.jpg"))[index]
    image = Image.open(path).convert("RGB")
    image.thumbnail((side, side))
    return image


def jpeg(image: Image.Image, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def with_drawn_crack(image: Image.Image) -> Image.Image:
    """The classic forgery: the shop's own photo with a crack drawn on the product."""
    forged = image.copy()
    draw = ImageDraw.Draw(forged)
    w, h = forged.size
    draw.line(
        [(w * 0.3, h * 0.3), (w * 0.38, h * 0.42), (w * 0.35, h * 0.5), (w * 0.45, h * 0.62)],
        fill=(20, 20, 20),
        width=5,
    )
    return forged


def packing_frames(image: Image.Image, n: int = 16) -> list[np.ndarray]:
    """Frames of the product slowly panning, as a packing video would show it (even sizes for yuv420p)."""
    base = np.asarray(image)
    h, w = (base.shape[0] // 2) * 2 - 16, (base.shape[1] // 2) * 2 - 16
    return [np.ascontiguousarray(base[i // 2 : i // 2 + h, i // 2 : i // 2 + w]) for i in range(n)]
