"""Dispatch benchmark: assignment time, promise-kept rate in a simulated day, address-resolution accuracy.

Run: ``.venv/bin/python bench/dispatch_bench.py`` (writes the ``dispatch`` section of BENCHMARKS.md).

Everything is generated here from a seed, from the official division table that ``cpca`` ships:

* **Load**: 300 counties sampled from five neighbouring central provinces (湖北 湖南 江西 安徽 河南), 1,000
  technicians (home county, coverage = every sampled county within 70 km of home by centroid, 2–3 product
  categories at levels 1–5, capacity 5–8 visits a day, 20% work weekends), 10,000 open requests arriving over
  one working day with county popularity drawn from a Zipf-like weight, priorities 5/20/60/15% urgent/high/
  normal/low.
* **Timing**: every request is assigned in arrival order (``Dispatcher.assign``: county index, ranking,
  booking). In the same run, for the same request and the same state, the naive baseline scans all 1,000
  technicians for coverage (``naive_candidates``) and we time the indexed ranking (``Dispatcher.candidates``)
  against it.
* **Simulated day**: the technician contacts the customer after an exponential delay (mean 12 min); a reminder
  at two thirds of the window makes 80% of the stragglers call within 5 minutes; actual travel is the estimate
  times a log-normal factor (σ 0.25); 3% of assignments are declined and reassigned. A promise is kept when both
  contact and arrival are before their deadlines. These behaviours are assumptions, not measurements.
* **Addresses**: for every county-level unit in the table (not only the 300), addresses in six formats with
  street, house and room numbers; street names include other cities' names (北京路, 中山路) as real streets do.
  The resolver was developed against seed 1; the reported accuracy is on seed 2 (not looked at while tuning).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import markdown_table, write_section
from proofdesk.errors import ProofdeskError
from proofdesk.repair.calendar import CHINA_TZ, WorkCalendar
from proofdesk.repair.dispatch import (
    Dispatcher,
    Job,
    NoTechnicianAvailable,
    Priority,
    Technician,
    naive_candidates,
)
from proofdesk.repair.regions import (
    AmbiguousAddress,
    Coverage,
    DivisionCatalog,
    Level,
    distance_km,
)

CATEGORIES = ["safe", "disinfection_cabinet", "water_heater", "range_hood", "air_conditioner", "washing_machine"]
PROVINCES = ("42", "43", "36", "34", "41")
STREETS = [
    "人民路",
    "解放路",
    "建设路",
    "和平路",
    "新华路",
    "胜利街",
    "文化路",
    "光明大道",
    "长江路",
    "滨江大道",
    "朝阳路",
]


def build_load(
    catalog: DivisionCatalog, seed: int = 7, requests: int = 10_000
) -> tuple[list[str], list[Technician], list[Job]]:
    rng = random.Random(seed)
    leaves = sorted(c for c in catalog.leaves() if c[:2] in PROVINCES)
    counties = sorted(rng.sample(leaves, 300))
    divs = {c: catalog.divisions[c] for c in counties}
    near = {c: [d for d in counties if distance_km(divs[c], divs[d]) <= 70.0] for c in counties}
    techs: list[Technician] = []
    for i in range(1000):
        home = rng.choice(counties)
        cats = rng.sample(CATEGORIES, rng.choice([2, 3]))
        techs.append(
            Technician(
                id=f"t{i:04d}",
                name=f"师傅{i}",
                home=home,
                coverage=Coverage(frozenset(near[home]), (home,)),
                skills={c: rng.randint(1, 5) for c in cats},
                calendar=WorkCalendar(dt.time(8, 0), dt.time(20, 0), weekends=rng.random() < 0.2),
                daily_capacity=rng.randint(5, 8),
                rating=round(rng.uniform(3.5, 5.0), 2),
            )
        )
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(counties))]
    shuffled = counties[:]
    rng.shuffle(shuffled)
    day = dt.datetime(2026, 11, 24, 8, 0, tzinfo=CHINA_TZ)  # a Tuesday, an official workday
    jobs: list[Job] = []
    for i in range(requests):
        created = day + dt.timedelta(seconds=rng.uniform(0, 12 * 3600))
        jobs.append(
            Job(
                id=f"r{i:05d}",
                county=rng.choices(shuffled, weights)[0],
                category=rng.choice(CATEGORIES),
                priority=rng.choices(list(Priority), [5, 20, 60, 15])[0],
                created_at=created,
                min_level=rng.choice([1, 1, 2, 2, 3]),
                duration_minutes=rng.choice([45, 60, 90, 120]),
            )
        )
    jobs.sort(key=lambda j: j.created_at)
    return counties, techs, jobs


def run_dispatch(catalog: DivisionCatalog, requests: int = 10_000) -> str:
    counties, techs, jobs = build_load(catalog, requests=requests)
    t0 = time.perf_counter()
    dispatcher = Dispatcher(catalog, techs)
    index_ms = (time.perf_counter() - t0) * 1000
    rng = random.Random(11)
    assign_ms: list[float] = []
    assign_cpu_ms: list[float] = []  # CPU time: what the assignment costs when the machine is shared
    ranked_ms: list[float] = []
    naive_ms: list[float] = []
    kept = {p: [0, 0] for p in Priority}
    contact_kept = onsite_kept = unassigned = reassigned = agree = jumped = moved_visits = 0
    placed: list[tuple[Job, dt.datetime, bool, float]] = []
    for n, job in enumerate(jobs):
        now = job.created_at
        if n % 10 == 0:  # the baseline is slow; compare on every 10th request, same state
            t = time.perf_counter()
            fast = dispatcher.candidates(job, now)
            ranked_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            slow = naive_candidates(dispatcher, job, now)
            naive_ms.append((time.perf_counter() - t) * 1000)
            agree += [c.technician_id for c in fast] == [c.technician_id for c in slow]
        t, c = time.perf_counter(), time.process_time()
        try:
            result = dispatcher.assign(job, now)
        except NoTechnicianAvailable:
            unassigned += 1
            kept[job.priority][1] += 1
            continue
        assign_ms.append((time.perf_counter() - t) * 1000)
        assign_cpu_ms.append((time.process_time() - c) * 1000)
        if rng.random() < 0.03:
            reassigned += 1
            try:
                _, result = dispatcher.reassign(job, now + dt.timedelta(minutes=5), reason="declined")
            except NoTechnicianAvailable:
                unassigned += 1
                kept[job.priority][1] += 1
                continue
        jumped += bool(result.moved)
        moved_visits += len(result.moved)
        terms = dispatcher.policy.terms(job.priority, job.county, job.created_at)
        delay = rng.expovariate(1 / 12.0)
        window = (terms.contact_by - job.created_at).total_seconds() / 60
        if delay > window * 2 / 3 and rng.random() < 0.8:
            delay = window * 2 / 3 + rng.uniform(0, 5)
        contact_ok = job.created_at + dt.timedelta(minutes=delay) <= terms.contact_by
        travel_noise = result.travel_minutes * (math.exp(rng.gauss(0, 0.25)) - 1)
        placed.append((job, terms.on_site_by, contact_ok, travel_noise))
    # Arrival is judged on the final plan: later urgent insertions may have moved a visit back.
    for job, on_site_by, contact_ok, travel_noise in placed:
        eta = dispatcher.eta_of(job.id)
        onsite_ok = eta is not None and eta + dt.timedelta(minutes=travel_noise) <= on_site_by
        contact_kept += contact_ok
        onsite_kept += onsite_ok
        kept[job.priority][0] += contact_ok and onsite_ok
        kept[job.priority][1] += 1
    total = len(jobs)

    def pct(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))]

    timing = markdown_table(
        ["what", "n", "mean ms", "p50 ms", "p95 ms", "max ms"],
        [
            [name, len(v), f"{statistics.mean(v):.3f}", f"{pct(v, 0.5):.3f}", f"{pct(v, 0.95):.3f}", f"{max(v):.3f}"]
            for name, v in [
                ("assign (index + rank + book), wall clock", assign_ms),
                ("assign, CPU time of this process", assign_cpu_ms),
                ("rank via county index", ranked_ms),
                ("rank via naive scan of all technicians", naive_ms),
            ]
        ],
    )
    ratio = statistics.mean(naive_ms) / statistics.mean(ranked_ms)
    per_priority = markdown_table(
        ["priority", "requests", "both promises kept"],
        [[p.value, kept[p][1], f"{kept[p][0] / max(1, kept[p][1]):.1%}"] for p in Priority],
    )
    all_kept = sum(k for k, _ in kept.values())
    return (
        f"Load: {len(techs)} technicians (together {sum(t.daily_capacity for t in techs)} visits a day), {total} open "
        f"requests, {len(counties)} counties; index built in {index_ms:.1f} ms.\n\n{timing}\n\n"
        f"Naive scan / county index (ranking, same requests, same state): **{ratio:.1f}×**; identical rankings in "
        f"{agree}/{len(ranked_ms)} comparisons. Target ≤ 20 ms per assignment: CPU time p95 "
        f"{pct(assign_cpu_ms, 0.95):.2f} ms ({'met' if pct(assign_cpu_ms, 0.95) <= 20 else 'NOT met'}); wall clock p95 "
        f"{pct(assign_ms, 0.95):.2f} ms ({'met' if pct(assign_ms, 0.95) <= 20 else 'NOT met'}), load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end (the gap is time spent waiting for a core "
        f"on a shared machine).\n\n"
        f"Simulated day: contact promise kept {contact_kept / total:.1%}, on-site promise kept "
        f"{onsite_kept / total:.1%}, **both kept {all_kept / total:.1%}**; {unassigned} requests found nobody with "
        f"skill and capacity within {Dispatcher.HORIZON_DAYS} days (counted as missed); {reassigned} reassigned "
        f"after a decline; {jumped} urgent/high requests went before waiting visits, moving {moved_visits} "
        f"visits later (each still within its promise when moved).\n\n{per_priority}"
    )


def make_addresses(catalog: DivisionCatalog, seed: int) -> list[tuple[str, str, str]]:
    """(format, address, expected leaf code) for every county-level unit, six formats each."""
    rng = random.Random(seed)
    city_names = [d.name for d in catalog.divisions.values() if d.level is Level.CITY]
    out: list[tuple[str, str, str]] = []
    for code in sorted(catalog.leaves()):
        chain = catalog.chain(code)
        if len(chain) < 2:
            continue  # 香港/澳门/台湾 have no lower level in this table
        prov, leaf = chain[0], chain[-1]
        city = chain[1] if len(chain) == 3 else None

        def short(d: object) -> str:
            names = catalog.aliases(d)  # type: ignore[arg-type]
            return names[-1]

        street = rng.choice([*STREETS, rng.choice(city_names).removesuffix("市") + "路"])
        house = f"{street}{rng.randint(1, 999)}号"
        room = rng.choice(["", f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(101, 2605)}室", "小区东门"])
        pname = prov.name
        cname = city.name if city else ""
        county_only = leaf.name if leaf.level is Level.COUNTY or city is None else ""
        formats = {
            "full": f"{pname}{cname}{county_only}{house}{room}",
            "no_province": f"{cname}{county_only}{house}{room}" if cname else f"{pname}{county_only}{house}",
            "abbreviated": f"{short(prov)}{short(city) if city else ''}{county_only}{house}",
            "spaced_punctuated": f"{pname} {cname}，{county_only} {house} {room}".replace("  ", " "),
            "province_county": f"{pname}{county_only or leaf.name}{house}",
            "county_only": f"{county_only or leaf.name}{house}{room}",
        }
        out.extend((fmt, text, code) for fmt, text in formats.items())
    return out


def run_addresses(catalog: DivisionCatalog, seed: int) -> tuple[str, dict[str, list[int]], list[str]]:
    rows = make_addresses(catalog, seed)
    stats: dict[str, list[int]] = {}
    failures: list[str] = []
    t = time.perf_counter()
    for fmt, text, code in rows:
        s = stats.setdefault(fmt, [0, 0, 0, 0])  # correct, ambiguous (asked to clarify), wrong/unresolved, total
        s[3] += 1
        try:
            got = catalog.resolve(text).leaf.code
        except AmbiguousAddress:
            s[1] += 1
            continue
        except ProofdeskError:
            got = "-"
        if got == code:
            s[0] += 1
        else:
            s[2] += 1
            failures.append(f"{fmt}: {text} → {got} (expected {code})")
    per_ms = (time.perf_counter() - t) * 1000 / len(rows)
    table = markdown_table(
        ["format", "addresses", "correct", "ambiguous → asked to clarify", "wrong or unresolved"],
        [[f, s[3], f"{s[0] / s[3]:.2%}", s[1], s[2]] for f, s in stats.items()],
    )
    return table + f"\n\nResolution time: {per_ms:.3f} ms per address.", stats, failures


def main() -> None:
    catalog = DivisionCatalog.load()
    dispatch_md = run_dispatch(catalog)
    # The same technicians with half the requests: what the promise rate is when the load fits the capacity.
    half = run_dispatch(catalog, requests=5_000).split("Simulated day:", 1)[1]
    dispatch_md += "\n\n**Half the load (5,000 requests, same technicians)** — simulated day:" + half
    print(dispatch_md)
    table, stats, failures = run_addresses(catalog, seed=2)
    main_formats = [f for f in stats if f != "county_only"]
    correct = sum(stats[f][0] for f in main_formats)
    total = sum(stats[f][3] for f in main_formats)
    co = stats["county_only"]
    addr_md = (
        f"Evaluation set (seed 2): {sum(s[3] for s in stats.values())} addresses built from "
        f"{len(catalog.leaves())} county-level units of the cpca 0.5.5 table.\n\n{table}\n\n"
        f"Accuracy on the five formats that name at least a province or city: **{correct / total:.2%}** "
        f"(target ≥ 99%). County name alone: {co[0] / co[3]:.2%} correct, {co[1]} same-name counties answered "
        f"with a request to add the city (朝阳区 exists in Beijing and Changchun), {co[2]} wrong.\n\n"
        "First failures:\n\n" + ("\n".join(f"- {f}" for f in failures[:8]) or "none")
    )
    print(addr_md)
    body = "### Dispatch\n\n" + dispatch_md + "\n\n### Address resolution\n\n" + addr_md
    write_section(
        "dispatch",
        "On-site repair: dispatch and address resolution",
        ".venv/bin/python bench/dispatch_bench.py",
        "Everything is generated" + (__doc__ or "").split("Everything is generated", 1)[1] + "\n" + body,
    )


if __name__ == "__main__":
    main()
