"""Tuning aid for the reference check's separate-exposure rule (``exposure_residual_px``, ``exposure_noise``).

Where it sits: ``bench/``; used once to choose those two thresholds; not used at run time. On the TUNING split
(``bench.datasets.photos.split_of``) it registers and compares, with the check's own code:

* every ordered pair of two different views of one product (the claim as published, and under the
  benchmark's mild negative transforms): another exposure, never a copy;
* ``--per-family`` derived copies per transform family (``bench.reference_bench.make_positive``) against
  their true source,

and writes per pair the median inlier residual in the coarser image (``alignment_residual``), the pixel
residual after alignment (``noise_level``) and the agreements, then prints the two distributions. The
choice and the numbers are in ``src/proofdesk/checks/reference/README.md`` ("Thresholds").

Run: ``.venv/bin/python -m bench.reference_exposure [--per-family 12] [--workers 1]``
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from collections import defaultdict
from collections.abc import Sequence
from multiprocessing import Pool
from typing import Any

import cv2
import numpy as np

from bench.datasets.photos import DATA, all_photos
from bench.datasets.transforms import FAMILIES
from bench.reference_bench import Ref, by_product, make_negative, make_positive, prepare_references, view_of
from proofdesk.checks.reference import ReferenceCheck, ReferenceConfig
from proofdesk.checks.reference._register import alignment_residual
from proofdesk.evidence import Evidence, read_evidence
from proofdesk.signals.features import extract_features, extract_features_array, working_side

# Every rule but the one being tuned: which pairs would be called derived without it.
_CHECK = ReferenceCheck(ReferenceConfig(exposure_residual_px=1e9))
_BY_ID: dict[str, Ref] = {}
_LISTINGS: list[Ref] = []


def _measure(claim: Evidence, reference: Evidence) -> dict[str, Any] | None:
    cfg = _CHECK.config
    side = working_side(claim.width, claim.height, cfg.max_side)
    feats = extract_features(claim, max_side=side, max_features=cfg.max_features)
    image = _CHECK._working(claim, feats)
    ref_feats = _CHECK.reference_features(reference)
    att = _CHECK._attempt(image, feats, None, reference, ref_feats)
    if att is None or not att.derived:
        flipped = extract_features_array(
            np.ascontiguousarray(image[:, ::-1]), full_size=(claim.width, claim.height), max_features=cfg.max_features
        )
        mirrored = _CHECK._attempt(image, feats, flipped, reference, ref_feats)
        if mirrored is not None and (att is None or mirrored.derived):
            att = mirrored
    if att is None:
        return None
    comp = att.comparison
    return {
        "derived_without_rule": att.derived,
        "inliers": att.registration.inliers,
        "residual_px": round(alignment_residual(att.registration), 3),
        "noise_level": round(comp.noise_level, 2),
        "agreement_fine": round(comp.agreement_fine, 3),
        "agreement_coarse": round(comp.agreement_coarse, 3),
        "agreement_anchor": round(comp.agreement_anchor, 3),
    }


def _job(job: tuple[str, str, str, str, int]) -> dict[str, Any]:
    kind, claim_id, ref_id, family, seed = job
    if kind == "copy":
        made = make_positive(_BY_ID[claim_id], family, seed, _LISTINGS)
        claim = read_evidence(made.transformed.data, name="claim")
    elif kind == "other_view":
        claim = read_evidence(_BY_ID[claim_id].path, name="claim")
    else:
        made = make_negative("neg_same_product", _BY_ID[claim_id], seed)
        claim = read_evidence(made.transformed.data, name="claim")
    result = _measure(claim, read_evidence(_BY_ID[ref_id].path, name=ref_id))
    return {"kind": kind, "claim": claim_id, "reference": ref_id, "family": family, "m": result}


def _init(refs: list[Ref]) -> None:
    cv2.setNumThreads(1)
    _BY_ID.update({r.ref_id: r for r in refs})
    _LISTINGS[:] = [r for r in refs if r.photo.split == "tune" and r.photo.source == "listing"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-family", type=int, default=12)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default=str(DATA / "reference-exposure.jsonl"))
    args = parser.parse_args(argv)
    refs = prepare_references(all_photos(fetch=False))
    tune = [r for r in refs if r.photo.split == "tune"]
    listings = [r for r in tune if r.photo.source == "listing"]
    others = [r for r in tune if r.photo.source != "listing"]
    groups = by_product(listings)
    jobs: list[tuple[str, str, str, str, int]] = []
    for group in groups.values():
        for a, b in itertools.permutations(group, 2):
            if view_of(a) != view_of(b):
                jobs.append(("other_view", a.ref_id, b.ref_id, "none", 0))
                jobs.append(("other_view_transformed", a.ref_id, b.ref_id, "mild", len(jobs)))
    rng = np.random.default_rng(11)
    for n, family in enumerate(f for f in FAMILIES for _ in range(args.per_family)):
        pool = listings if rng.random() < 0.75 or not others else others
        source = pool[int(rng.integers(len(pool)))]
        jobs.append(("copy", source.ref_id, source.ref_id, family, 5000 + n))
    random.Random(3).shuffle(jobs)
    rows = []
    with open(args.out, "w") as out, Pool(args.workers, initializer=_init, initargs=(refs,)) as pool_:
        for row in pool_.imap_unordered(_job, jobs, chunksize=4):
            rows.append(row)
            out.write(json.dumps(row) + "\n")
    _summary(rows)
    return 0


def _summary(rows: list[dict[str, Any]]) -> None:
    copies = defaultdict(list)
    for r in rows:
        if r["kind"] == "copy" and r["m"] and r["m"]["derived_without_rule"]:
            copies[r["family"]].append(r["m"])
    print("derived copies: highest residual (px) and, at residual >= 0.5 px, highest noise level, per family")
    for family, ms in sorted(copies.items()):
        top = max(m["residual_px"] for m in ms)
        noisy = max((m["noise_level"] for m in ms if m["residual_px"] >= 0.5), default=0.0)
        print(f"  {family:12s} n={len(ms):3d} residual<={top:.2f}  noise (residual>=0.5)<={noisy:.1f}")
    print("other views called derived without the rule (residual px, noise level):")
    for r in rows:
        if r["kind"] != "copy" and r["m"] and r["m"]["derived_without_rule"]:
            print(f"  {r['claim']} vs {r['reference']} ({r['kind']}): {r['m']['residual_px']}, {r['m']['noise_level']}")


if __name__ == "__main__":
    sys.exit(main())
