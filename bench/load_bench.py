"""Load benchmark of the case service (issue 5 "Measure"): concurrent claim submission, time to verdict, and
a crash in the middle.

For each database (the embedded SQLite default, then PostgreSQL) it starts ``proofdesk serve`` as a real
process with local check workers, seeds one merchant, a listing and one order per claim, then lets
``--clients`` concurrent clients (asyncio + httpx, bounded) each file ``--claims`` claims with ``--photos``
JPEG photos (real product photos from ../shared/data/listings, cropped differently per claim). Every claim
carries an Idempotency-Key; a client whose request fails (connection refused while the server is down)
retries with the same key until it gets an answer.

Measured: accepted claims per second over the submission phase, p50/p99 submission latency (client side),
p50/p99 time to verdict (server side: ``verdict_at - created_at``, the first routing decision after all
checks), and lost/duplicated claims: a claim is lost if the server accepted it (201/200) but it is not in
the database at the end or never got a verdict; duplicated if one Idempotency-Key produced more than one
case. With ``--kill`` a second run on the embedded default SIGKILLs the server and its workers after a
third of the claims were accepted, restarts it, and checks that every accepted claim is there and gets its
verdict. Results go to BENCHMARKS.md (section ``load``).

    .venv/bin/python bench/load_bench.py --clients 50 --claims 2 --photos 3 --kill
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench._report import markdown_table, write_section  # noqa: E402

LISTINGS = REPO.parent / "shared" / "data" / "listings"
PG_URL = os.environ.get("PROOFDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RUN = [sys.executable, "-c", "from proofdesk.cli.main import main; main()"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``proofdesk serve`` as a process group we can kill."""

    def __init__(self, data_dir: Path, database_url: str | None, workers: int) -> None:
        self.port = _port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PROOFDESK_")}
        self.env |= {"PROOFDESK_DATA_DIR": str(data_dir), "PROOFDESK_ENVIRONMENT": "test",
                     "PROOFDESK_LOCAL_WORKERS": str(workers), "PROOFDESK_JOB_BACKEND": "local"}
        if database_url:
            self.env["PROOFDESK_DATABASE_URL"] = database_url
        self.log = data_dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        done = subprocess.run([*RUN, *args], env=self.env, capture_output=True, text=True, check=True, timeout=300)
        return done.stdout.strip()

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([*RUN, "serve", "--port", str(self.port)], env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start: " + self.log.read_text()[-2000:])

    def kill(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None


def _photos(n: int, seed: int, side: int) -> list[bytes]:
    """``n`` JPEGs cut from real product photos, different for every claim (so no two claims share a photo)."""
    rng = random.Random(seed)
    sources = sorted(LISTINGS.glob("*.jpg"))
    out = []
    for _ in range(n):
        image = Image.open(rng.choice(sources)).convert("RGB")
        image.thumbnail((side * 2, side * 2))
        w, h = image.size
        cw, ch = int(w * rng.uniform(0.6, 0.9)), int(h * rng.uniform(0.6, 0.9))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        crop = image.crop((x, y, x + cw, y + ch))
        crop.thumbnail((side, side))
        buffer = io.BytesIO()
        crop.save(buffer, "JPEG", quality=rng.randint(80, 95))
        out.append(buffer.getvalue())
    return out


@dataclass
class Tally:
    """What the clients saw."""

    latencies: list[float] = field(default_factory=list)
    accepted: dict[str, str] = field(default_factory=dict)  # idempotency key -> case id
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    first: float = 0.0
    last: float = 0.0


def _seed(server: Server, n_orders: int) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Admin, merchant, listing; one buyer per client and one order per claim. Returns tokens and orders."""
    admin = server.cli("token", "issue", "--role", "admin")
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {admin}"}, timeout=120) as c:
        merchant_id = c.post("/merchants", json={"name": "Bench shop"}).json()["id"]
        merchant = c.post("/tokens", json={"role": "merchant", "subject_id": merchant_id}).json()["token"]
        m = {"Authorization": f"Bearer {merchant}"}
        shop = c.post("/shops", json={"name": "S"}, headers=m).json()
        listing = c.post("/listings", headers=m, data={"shop_id": shop["id"], "title": "Item", "category": "home",
                                                        "price_cents": "50000"},
                         files=[("images", ("l.jpg", _photos(1, 0, 480)[0], "image/jpeg"))]).json()
        orders = []
        for _ in range(n_orders):
            buyer_id = c.post("/buyers", json={"contact": {}}).json()["id"]
            token = c.post("/tokens", json={"role": "buyer", "subject_id": buyer_id}).json()["token"]
            order = c.post("/orders", headers=m, json={"shop_id": shop["id"], "listing_id": listing["id"],
                                                       "buyer_id": buyer_id, "amount_cents": 50000}).json()
            orders.append((token, order["id"]))
    return {"admin": admin}, orders


async def _client(base: str, jobs: list[tuple[str, str, list[bytes]]], tally: Tally, started: asyncio.Event,
                  accepted_count: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        await started.wait()
        for token, order_id, photos in jobs:
            key = uuid.uuid4().hex
            files = [("files", (f"p{i}.jpg", p, "image/jpeg")) for i, p in enumerate(photos)]
            data = {"order_id": order_id, "claim_type": "refund_only", "reason": "damaged"}
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
            t0 = time.perf_counter()
            while True:
                try:
                    response = await client.post("/claims", data=data, files=files, headers=headers)
                except httpx.TransportError:
                    tally.retries += 1  # server down (killed): retry the same submission with the same key
                    await asyncio.sleep(0.5)
                    continue
                if response.status_code in (200, 201):
                    tally.latencies.append(time.perf_counter() - t0)
                    tally.accepted[key] = response.json()["id"]
                    accepted_count[0] += 1
                    tally.last = time.perf_counter()
                    break
                if response.status_code >= 500:
                    tally.retries += 1
                    await asyncio.sleep(0.5)
                    continue
                tally.errors.append(f"{response.status_code} {response.text[:200]}")
                break


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(database: str, *, clients: int, claims: int, photos: int, side: int, workers: int, kill: bool,
        work: Path) -> dict[str, Any]:
    """One measured run; returns the row of numbers."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"load-{database}-", dir=work))
    db_name = None
    url = None
    if database == "postgres":
        db_name = f"pd_bench_{uuid.uuid4().hex[:10]}"
        admin_engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        url = PG_URL.rsplit("/", 1)[0] + "/" + db_name
    server = Server(data_dir, url, workers)
    try:
        server.start()
        total = clients * claims
        tokens, orders = _seed(server, total)
        jobs = [(tok, oid, _photos(photos, 1000 + i, side)) for i, (tok, oid) in enumerate(orders)]
        tally = Tally()
        accepted_count = [0]

        async def main() -> float:
            started = asyncio.Event()
            per_client = [jobs[i::clients] for i in range(clients)]
            tasks = [asyncio.create_task(_client(server.url, pc, tally, started, accepted_count)) for pc in per_client]
            t0 = time.perf_counter()
            tally.first = t0
            started.set()
            killed = False
            while not all(t.done() for t in tasks):
                await asyncio.sleep(0.05)
                if kill and not killed and accepted_count[0] >= total // 3:
                    killed = True
                    await asyncio.to_thread(server.kill)  # SIGKILL: server and its check workers
                    await asyncio.to_thread(server.start)
            await asyncio.gather(*tasks)
            return t0

        t0 = asyncio.run(main())
        submit_s = tally.last - t0
        # wait for every accepted claim's verdict
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        deadline = time.monotonic() + 3600
        cases: list[dict[str, Any]] = []
        with httpx.Client(base_url=server.url, headers=admin, timeout=120) as c:
            while time.monotonic() < deadline:
                cases = []
                offset = 0
                while True:
                    page = c.get("/cases", params={"limit": 500, "offset": offset}).json()
                    cases += page
                    if len(page) < 500:
                        break
                    offset += 500
                if cases and all(x["verdict_at"] for x in cases) and len(cases) >= len(tally.accepted):
                    break
                time.sleep(1.0)
        all_done = time.perf_counter() - t0
        by_id = {x["id"]: x for x in cases}
        lost = [k for k, cid in tally.accepted.items() if cid not in by_id or not by_id[cid]["verdict_at"]]
        engine = create_engine(url or f"sqlite:///{data_dir / 'proofdesk.sqlite3'}")
        with engine.connect() as conn:
            dup = conn.execute(text("SELECT count(*) FROM (SELECT idempotency_key FROM cases GROUP BY "
                                    "buyer_id, idempotency_key HAVING count(*) > 1) d")).scalar_one()
            jobs_failed = conn.execute(text("SELECT count(*) FROM jobs WHERE status = 'failed'")).scalar_one()
            reports = conn.execute(text("SELECT count(*) FROM check_reports")).scalar_one()
        engine.dispose()
        ttv = [(datetime.fromisoformat(x["verdict_at"]) - datetime.fromisoformat(x["created_at"])).total_seconds()
               for x in cases if x["verdict_at"]]
        return {
            "database": "SQLite (embedded)" if database == "sqlite" else "PostgreSQL",
            "kill": kill,
            "claims": total,
            "accepted": len(tally.accepted),
            "claims_per_s": len(tally.accepted) / submit_s if submit_s > 0 else float("nan"),
            "submit_p50": _pct(tally.latencies, 0.5),
            "submit_p99": _pct(tally.latencies, 0.99),
            "ttv_p50": _pct(ttv, 0.5),
            "ttv_p99": _pct(ttv, 0.99),
            "all_verdicts_s": all_done,
            "lost": len(lost),
            "duplicated": int(dup),
            "retries": tally.retries,
            "errors": len(tally.errors),
            "failed_jobs": int(jobs_failed),
            "reports": int(reports),
            "error_sample": tally.errors[:3],
        }
    finally:
        server.stop()
        if db_name:
            engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--claims", type=int, default=2, help="claims per client")
    parser.add_argument("--photos", type=int, default=3, help="photos per claim")
    parser.add_argument("--side", type=int, default=480, help="longer side of each photo, pixels")
    parser.add_argument("--workers", type=int, default=2, help="local check worker processes")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--kill", action="store_true", help="also a run that kills the server mid-way")
    parser.add_argument("--no-write", action="store_true", help="print only, do not touch BENCHMARKS.md")
    args = parser.parse_args(argv)
    work = REPO / "bench" / ".data"
    work.mkdir(parents=True, exist_ok=True)
    load_at_start = os.getloadavg()[0]
    rows = []
    for database in args.databases.split(","):
        row = run(database, clients=args.clients, claims=args.claims, photos=args.photos, side=args.side,
                  workers=args.workers, kill=False, work=work)
        print(row)
        rows.append(row)
    if args.kill:
        row = run("sqlite", clients=args.clients, claims=args.claims, photos=args.photos, side=args.side,
                  workers=args.workers, kill=True, work=work)
        print(row)
        rows.append(row)
    table = markdown_table(
        ["database", "server killed mid-run", "claims accepted", "claims/s", "submit p50 / p99 (s)",
         "time to verdict p50 / p99 (s)", "all verdicts after (s)", "lost", "duplicated", "client retries",
         "4xx", "failed jobs"],
        [[r["database"], "yes" if r["kill"] else "no", f"{r['accepted']}/{r['claims']}", f"{r['claims_per_s']:.1f}",
          f"{r['submit_p50']:.2f} / {r['submit_p99']:.2f}", f"{r['ttv_p50']:.1f} / {r['ttv_p99']:.1f}",
          f"{r['all_verdicts_s']:.0f}", r["lost"], r["duplicated"], r["retries"], r["errors"], r["failed_jobs"]]
         for r in rows],
    )
    body = f"""{table}

{args.clients} concurrent clients (asyncio + httpx), {args.claims} claim(s) each, {args.photos} JPEG photos per claim
(crops of real product photos from ../shared/data/listings, longer side {args.side} px, all different), one order
per claim, `proofdesk serve` as a separate process with {args.workers} local check worker processes; every
registered check runs on every photo. Submission latency is measured by the client; time to verdict is
`verdict_at - created_at` from the server (all checks of the claim done and the routing policy applied).
"lost" = accepted by the server (201/200) but missing or without a verdict at the end; "duplicated" = one
Idempotency-Key with more than one case. In the killed run the server and its workers get SIGKILL after a
third of the claims were accepted and are restarted at once; clients retry refused requests with the same key.
The machine was shared with other work (load average {load_at_start:.1f} at start), so absolute times are
pessimistic; the check work (CPU-bound, {args.workers} workers on 2 cores) dominates time to verdict.
"""
    if not args.no_write:
        write_section("load", "Case service under load (issue 5)", "python bench/load_bench.py " +
                      " ".join(argv if argv is not None else sys.argv[1:]), body)
    print(body)


if __name__ == "__main__":
    main()
