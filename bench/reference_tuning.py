"""Tuning run of the ``reference`` check on the TUNING split (``--split eval`` only for a held-out look).

Where it sits: ``bench/``; used while choosing the thresholds in ``ReferenceConfig``; not used at run time.
It builds claims exactly as ``bench.reference_bench`` does (same generators: ``bench.datasets``), but only
from photos whose product group is in the tuning half of ``bench.datasets.photos.split_of``, runs the check
and prints per-family rates plus the measurements every threshold acts on, so that a threshold can be read
off the two distributions (derived copies vs other photos of the same product). The evaluation numbers in
BENCHMARKS.md come from ``bench.reference_bench`` on the other half.

Run: ``.venv/bin/python -m bench.reference_tuning [--per-family 6] [--negatives 60] [--out FILE.jsonl]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# One OpenBLAS thread, set before numpy loads it: OpenBLAS otherwise keeps a second thread spinning after
# each product, which process_time counts (a few ms per claim at --timing) and which competes with the
# other process on a shared 2-core machine. Results do not depend on it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from bench.datasets.photos import DATA, all_photos
from bench.datasets.transforms import FAMILIES
from bench.reference_bench import (
    _f1,
    by_product,
    edit_decidable,
    make_negative,
    make_positive,
    prepare_references,
    untouched,
    view_of,
)
from proofdesk.checks.base import CheckContext
from proofdesk.checks.reference import ReferenceCheck, ReferenceConfig
from proofdesk.evidence import Evidence, read_evidence

DERIVED = ("derived_and_edited", "derived_unedited")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=6)
    parser.add_argument("--negatives", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--out", type=Path, default=DATA / "reference-tuning.jsonl")
    parser.add_argument("--timing", action="store_true", help="only time a 12 MP claim against 5 references")
    parser.add_argument(
        "--claim-detect-scale", type=float, default=None, help="with --timing: ReferenceConfig.claim_detect_scale"
    )
    parser.add_argument(
        "--split",
        choices=("tune", "eval"),
        default="tune",
        help="photos to make claims from: tune (choosing thresholds) or eval (a held-out check, after tuning)",
    )
    args = parser.parse_args(argv)
    if args.timing:
        return _timing(detect_scale=args.claim_detect_scale)

    jobs, evidence = build_jobs(args)
    check = ReferenceCheck()
    return _run(check, jobs, evidence, args.out)


def build_jobs(args: argparse.Namespace) -> tuple[list[tuple[Any, list[str]]], Any]:
    """The claims of one tuning run (deterministic in ``args``) and a loader of references by id."""
    refs = prepare_references(all_photos(fetch=False))
    tune = [r for r in refs if r.photo.split == args.split]
    listings = [r for r in tune if r.photo.source == "listing"]
    debian = [r for r in tune if r.photo.source != "listing"]
    groups = by_product(listings)
    # Only other *views* are negatives: colour variants of one view are the same photograph recoloured.
    multi = [g for g in groups.values() if len({view_of(r) for r in g}) >= 2]
    by_id = {r.ref_id: r for r in refs}
    rng = np.random.default_rng(args.seed)
    cache: dict[str, Evidence] = {}

    def evidence(ref_id: str) -> Evidence:
        if ref_id not in cache:
            cache[ref_id] = read_evidence(by_id[ref_id].path, name=ref_id)
        return cache[ref_id]

    jobs: list[tuple[Any, list[str]]] = []
    n = 0
    for family in args.families.split(","):
        for _ in range(args.per_family):
            pool = listings if rng.random() < 0.75 or not debian else debian
            source = pool[int(rng.integers(len(pool)))]
            claim = make_positive(source, family, args.seed * 100_003 + n, listings)
            others = [r.ref_id for r in groups.get(source.photo.group, []) if r.ref_id != source.ref_id][:2]
            while len(others) < 4:
                pick = listings[int(rng.integers(len(listings)))].ref_id
                if pick != source.ref_id and pick not in others:
                    others.append(pick)
            jobs.append((claim, [source.ref_id, *others]))
            n += 1
    for i in range(args.negatives):
        kind = ("neg_same_product", "neg_other_product", "neg_unrelated")[i % 3]
        if kind == "neg_same_product":
            group = multi[int(rng.integers(len(multi)))]
            claim_ref = group[int(rng.integers(len(group)))]
            refs_for = [r.ref_id for r in group if view_of(r) != view_of(claim_ref)][:5]
        else:
            pool = listings if kind == "neg_other_product" or not debian else debian
            claim_ref = pool[int(rng.integers(len(pool)))]
            refs_for = []
            while len(refs_for) < 5:
                pick = listings[int(rng.integers(len(listings)))]
                if pick.photo.group != claim_ref.photo.group and pick.ref_id not in refs_for:
                    refs_for.append(pick.ref_id)
        claim = make_negative(kind, claim_ref, args.seed * 7_919 + i)
        claim.source = claim_ref.ref_id
        jobs.append((claim, refs_for))
    return jobs, evidence


def _run(check: ReferenceCheck, jobs: list[tuple[Any, list[str]]], evidence: Any, out_path: Path) -> int:
    rows = []
    with out_path.open("w") as out:
        for i, (claim, ref_ids) in enumerate(jobs):
            ev = read_evidence(claim.transformed.data, name=f"claim-{i}")
            t0 = time.perf_counter()
            finding = check.run(ev, CheckContext(references=[evidence(r) for r in ref_ids]))
            secs = time.perf_counter() - t0
            f1 = None
            if claim.kind == "positive" and claim.edited and claim.edit_area >= 0.003:
                f1 = _f1(finding.mask, claim.transformed.mask, claim.transformed.overlay)
            row = {
                "i": i,
                "kind": claim.kind,
                "family": claim.family,
                "source": claim.source,
                "edit_kind": claim.edit_kind,
                "edited": bool(claim.edited),
                "area": round(float(claim.edit_area), 5),
                "label": finding.label,
                "reference": finding.reference,
                "f1": None if f1 is None else round(f1, 3),
                "seconds": round(secs, 3),
                "m": dict(finding.measurements),
            }
            rows.append(row)
            out.write(json.dumps(row) + "\n")
            out.flush()
            ok = (
                (finding.label in DERIVED and finding.reference == claim.source)
                if claim.kind == "positive"
                else finding.label not in DERIVED
            )
            flag = "" if ok else "  <-- WRONG"
            print(
                f"{i:4d} {claim.kind[:12]:12s} {claim.family:11s} {claim.edit_kind!s:10s} a={claim.edit_area:.4f} "
                f"-> {finding.label:18s} f1={row['f1']} {secs:.2f}s{flag}",
                file=sys.stderr,
            )
    _summary(rows)
    return 0


def _timing(runs: int = 7, detect_scale: float | None = None) -> int:
    """Median wall and CPU time of one 12 MP JPEG claim (a listing photo with a drawn crack, upscaled) vs 5 references,
    one OpenCV thread, reference features cached (as with a catalogue). CPU time is printed too because on
    a shared machine wall time mostly measures the other processes."""
    import cv2

    from bench.datasets.edits import apply_edit
    from bench.datasets.photos import LISTINGS

    cv2.setNumThreads(1)
    names = [
        "mh02-black_main.jpg",
        "wj08-purple_main.jpg",
        "mb03-black-0.jpg",
        "luma-yoga-kit-2.jpg",
        "mh10-red_main.jpg",
    ]
    refs = [read_evidence(LISTINGS / n) for n in names]
    config = ReferenceConfig() if detect_scale is None else ReferenceConfig(claim_detect_scale=detect_scale)
    check = ReferenceCheck(config)
    for ref in refs:
        check.reference_features(ref)
    rgb = np.asarray(cv2.cvtColor(cv2.imread(str(LISTINGS / names[0])), cv2.COLOR_BGR2RGB))
    edited = apply_edit(rgb, "crack", 0.01, 3).image
    big = cv2.resize(edited, (3000, 4000), interpolation=cv2.INTER_CUBIC)
    wall, cpu = [], []
    for i in range(runs):
        _, buf = cv2.imencode(".jpg", cv2.cvtColor(big, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90 - i])
        claim = read_evidence(buf.tobytes(), name=f"claim-{i}.jpg")
        t0, c0 = time.perf_counter(), time.process_time()
        finding = check.run(claim, CheckContext(references=refs))
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert finding.label == "derived_and_edited", finding.summary
    print(
        f"12 MP claim vs 5 references: median wall {statistics.median(wall) * 1000:.0f} ms, "
        f"median CPU {statistics.median(cpu) * 1000:.0f} ms over {runs} runs "
        f"(claim_detect_scale {check.config.claim_detect_scale}, load average {os.getloadavg()[0]:.1f})"
    )
    return 0


def _summary(rows: list[dict[str, Any]]) -> None:
    print("family       n  derived  edit_ok(>=1%)  medianF1  ms")
    for family in [*FAMILIES, "all"]:
        pos = [r for r in rows if r["kind"] == "positive" and family in ("all", r["family"])]
        if not pos:
            continue
        det = np.mean([r["label"] in DERIVED and r["reference"] == r["source"] for r in pos])
        dec = [r for r in pos if edit_decidable(r)]
        ok = np.mean([(r["label"] == "derived_and_edited") == (not untouched(r)) for r in dec]) if dec else float("nan")
        f1s = [r["f1"] for r in pos if r["f1"] is not None]
        f1 = statistics.median(f1s) if f1s else float("nan")
        ms = statistics.median(r["seconds"] for r in pos) * 1000
        print(f"{family:11s} {len(pos):3d}  {det:.3f}    {ok:.3f}         {f1:.2f}     {ms:.0f}")
    for kind in ("neg_same_product", "neg_other_product", "neg_unrelated"):
        negs = [r for r in rows if r["kind"] == kind]
        if negs:
            false = sum(r["label"] in DERIVED for r in negs)
            print(f"{kind:18s} {len(negs):3d} false-derived {false}")


if __name__ == "__main__":
    raise SystemExit(main())
