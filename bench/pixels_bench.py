"""Benchmark (and calibration) of the ``pixels`` check on real photos with seeded local edits.

Where this sits: issue 4 "Measure". Photos come from ``bench.datasets.photos`` (listing photos + Debian
camera photos, split by group into tune/eval), edits from ``bench.datasets.edits`` (true masks). Each photo
gives an untouched sample and one edited sample (edit family cycling over the kinds, area log-uniform in
0.5%-20%), each saved as PNG, JPEG q95 and JPEG q75 after the edit.

Steps:
1. tune split: raw cue statistics on untouched samples -> per-cue thresholds (quantile ``--far-quantile``)
   written to ``src/proofdesk/checks/pixels/calibration.json`` (only with ``--calibrate``).
2. eval split: image-level AUC, pixel-F1 per family and per save, false-alarm rate on untouched photos.
3. pyIFD baselines (NOI1, ELA, BLK, ADQ1) on a subset of the eval samples, same run; F1 at the per-image
   best threshold (an oracle, favourable to them) against ours at the default threshold; time ratio.
4. synthetic score: ../shared/data/provenance/aigc files (pixels only, so no metadata) re-saved as JPEG q90
   against real eval photos cropped to the same sizes and saved the same way.
5. simulated recapture (photo shown on an RGB-stripe screen, re-photographed with a slight perspective) and
   the per-cue time on a 12-megapixel JPEG.

``python -m bench.pixels_bench --calibrate`` (about 10-15 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from bench._report import markdown_table, write_section
from bench.datasets.edits import EDIT_KINDS, apply_edit
from bench.datasets.photos import Photo, all_photos
from proofdesk.checks.pixels import CUES, FIRE_AT, LOCAL_CUES, PixelsCheck, analyze
from proofdesk.checks.pixels._check import calibrated
from proofdesk.checks.pixels.jpeg_traces import coarse_table
from proofdesk.evidence import read_evidence

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / "src" / "proofdesk" / "checks" / "pixels" / "calibration.json"
AIGC = (REPO.parent / "shared" / "data" / "provenance" / "aigc").resolve()
SAVES = ("png", "q95", "q75")
MAX_SIDE = 1600
MIN_AREA, MAX_AREA = 0.005, 0.20


def encode(rgb: np.ndarray, save: str) -> bytes:
    buffer = io.BytesIO()
    if save == "png":
        Image.fromarray(rgb).save(buffer, format="PNG", compress_level=1)
    else:
        Image.fromarray(rgb).save(buffer, format="JPEG", quality=int(save[1:]))
    return buffer.getvalue()


def load(path: Path) -> np.ndarray:
    rgb = np.asarray(Image.open(path).convert("RGB"))
    # Top-left crop (keeps the 8x8 grid where it was) to bound the time per sample.
    return np.ascontiguousarray(rgb[:MAX_SIDE, :MAX_SIDE])


def make_edit(index: int, photo: Path, donor: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, float]:
    """Original, edited, true mask, kind, realised area (deterministic in ``index``)."""
    rgb = load(photo)
    kind = EDIT_KINDS[index % len(EDIT_KINDS)]
    rng = np.random.default_rng(index)
    area = float(math.exp(rng.uniform(math.log(MIN_AREA), math.log(MAX_AREA))))
    donor_rgb = load(donor)
    edit = None
    for attempt in range(3):
        edit = apply_edit(rgb, kind, area, seed=index * 7 + attempt, donor=donor_rgb)
        if edit.area >= 0.4 * area:
            break
    assert edit is not None
    return rgb, edit.image, edit.mask, kind, edit.area


def f1_score(pred: np.ndarray | None, truth: np.ndarray) -> float:
    t = truth > 0
    if pred is None:
        return 0.0
    p = pred > 0
    tp = float(np.count_nonzero(p & t))
    denom = float(np.count_nonzero(p) + np.count_nonzero(t))
    return 0.0 if denom == 0 else 2.0 * tp / denom


def _raws(data: bytes, name: str) -> tuple[dict[str, float | None], float]:
    evidence = read_evidence(data, name=name)
    t0 = time.perf_counter()
    analysis = analyze(evidence)
    return {c: analysis.cues[c].raw for c in CUES}, time.perf_counter() - t0


def source_group(source: str) -> str:
    """Calibration group of a photo source: the shop's listing photos, or camera photos (all Debian packages)."""
    return "listing" if source == "listing" else "camera"


def tune_job(args: tuple[int, str, str]) -> list[dict[str, Any]]:
    """Raw statistics of one untouched tuning photo in the three saves."""
    _, path, source = args
    rgb = load(Path(path))
    out = []
    for save in SAVES:
        raws, _ = _raws(encode(rgb, save), f"{Path(path).stem}.{save}")
        out.append({"save": save, "raws": raws, "group": source_group(source)})
    return out


def eval_job(args: tuple[int, str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Untouched and edited samples of one evaluation photo, scored by the calibrated check."""
    index, path, donor, calibration = args
    check = PixelsCheck(calibration=calibration)
    original, edited, truth, kind, area = make_edit(index, Path(path), Path(donor))
    rows = []
    for save in SAVES:
        for is_edit, rgb in ((False, original), (True, edited)):
            evidence = read_evidence(encode(rgb, save), name=f"{Path(path).stem}.{save}")
            t0 = time.perf_counter()
            analysis = analyze(evidence)
            finding = check.finding(analysis)
            elapsed = time.perf_counter() - t0
            scores = check.scores(analysis)
            rows.append(
                {
                    "photo": path,
                    "kind": kind if is_edit else "none",
                    "edit_kind": kind,
                    "area": area,
                    "save": save,
                    "edited": is_edit,
                    "label": finding.label,
                    "score": finding.score,
                    "local": max(scores[c] for c in LOCAL_CUES),
                    "fired": finding.label != "none",
                    "cue": str(finding.details.get("cue", "")),
                    "f1": f1_score(finding.mask, truth) if is_edit else None,
                    "seconds": elapsed,
                    "megapixels": evidence.pixel_count / 1e6,
                }
            )
    return rows


def baseline_job(args: tuple[int, str, str]) -> list[dict[str, Any]]:
    """pyIFD NOI1/ELA/BLK/ADQ1 and ours on one edited photo in the three saves (files in a temp folder)."""
    index, path, donor = args
    from pyIFD import ADQ1, BLK, ELA, NOI1

    _, edited, truth, kind, _ = make_edit(index, Path(path), Path(donor))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)  # ELA writes its temporary re-save into the working directory
        try:
            for save in SAVES:
                file = Path(tmp) / ("claim.png" if save == "png" else "claim.jpg")
                file.write_bytes(encode(edited, save))
                methods = {
                    "NOI1": lambda p: NOI1.GetNoiseMap(p),
                    "ELA": lambda p: ELA.ELA(p),
                    "BLK": lambda p: BLK.GetBlockGrid(p)[0],
                    "ADQ1": lambda p: ADQ1.detectDQ(p),
                }
                for name, method in methods.items():
                    t0 = time.perf_counter()
                    try:
                        heat = method(str(file))
                    except Exception as exc:  # noqa: BLE001 - a baseline crashing is a result, not our error
                        heat = None
                        print(f"pyIFD {name} failed on {Path(path).name} {save}: {exc}", file=sys.stderr)
                    elapsed = time.perf_counter() - t0
                    rows.append(
                        {"method": name, "save": save, "kind": kind, "f1": best_f1(heat, truth), "seconds": elapsed}
                    )
        finally:
            os.chdir(cwd)
    return rows


def best_f1(heat: Any, truth: np.ndarray) -> float | None:
    """F1 at the best of 20 thresholds of the min-max normalised map (oracle per image); None if no map."""
    if heat is None or not hasattr(heat, "shape") or np.asarray(heat).ndim != 2:
        return None
    m = np.asarray(heat, dtype=np.float32)
    if not np.all(np.isfinite(m)):
        m = np.nan_to_num(m)
    m = cv2.resize(m, (truth.shape[1], truth.shape[0]), interpolation=cv2.INTER_LINEAR)
    lo, hi = float(m.min()), float(m.max())
    if hi <= lo:
        return 0.0
    m = (m - lo) / (hi - lo)
    return max(max(f1_score(m >= t, truth), f1_score(m <= 1 - t, truth)) for t in np.linspace(0.05, 0.95, 19))


def auc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """Area under the ROC curve (probability a positive outranks a negative; ties count half)."""
    if not pos or not neg:
        return float("nan")
    p, n = np.asarray(pos), np.asarray(neg)
    greater = (p[:, None] > n[None, :]).sum() + 0.5 * (p[:, None] == n[None, :]).sum()
    return float(greater) / (len(p) * len(n))


#: The localizing JPEG cue gets most of the 2% false-alarm budget; the weaker cues share the rest.
QUANTILES = {"jpeg": 0.98, "jpeg_dq": 0.97}
#: The previous session's recorded numbers (same command and split), for the before -> after table.
BEFORE = ("0.40", "0.38", "0.27", "0.90", "0.86", "0.79", "6.0%", "2.3%")
#: Margin beyond the quantile, as a fraction of (quantile - median), for the cues that seldom find edits.
#: Chosen by 5-fold cross-validation over tuning photos (out-of-fold false alarms of the whole check 3.5% -> 2.4%,
#: x3 seeds). Not for ``recapture``: on the tuning folds a margin below 1 did not lower its out-of-fold
#: false alarms (one textured photo), and a margin of 1 silences it on screen photos (its unit test).
MARGINS = dict.fromkeys(("noise", "copy_move", "resampling", "synthetic"), 1.0)


def _jpeg_mode(save: str) -> str:
    """The JPEG cue's mode for a save, decided as the cue does: from the table that save writes."""
    if save == "png":
        return "fit"
    table = Image.open(io.BytesIO(encode(np.zeros((8, 8, 3), np.uint8), save))).quantization[0]
    return "dq" if coarse_table(list(table)) else "fit"


def calibrate(rows: list[dict[str, Any]], default_quantile: float) -> dict[str, dict[str, float]]:
    """Per cue: threshold just above a quantile of the untouched raw values; scale = a quarter of its distance
    to the median. "Just above" matters for count-like statistics (copy-move pairs): ties at the quantile
    must not fire, or the false-alarm rate is far above 1 - quantile.

    Source-robust: the quantile is taken within each source group (listing photos, camera photos) and the
    threshold is the highest of them, so the false-alarm budget holds for each kind of photo and not only for
    the tuning split's mix (the evaluation split has a larger share of camera photos than the tuning split)."""
    out: dict[str, dict[str, float]] = {}
    modes = {save: _jpeg_mode(save) for save in SAVES}
    groups = sorted({r.get("group", "all") for r in rows})
    for key in (*CUES, "jpeg_dq"):
        cue = "jpeg" if key == "jpeg_dq" else key
        quantile = QUANTILES.get(key, default_quantile)
        sel = rows
        if cue == "jpeg":
            sel = [r for r in rows if (modes[r["save"]] == "dq") == (key == "jpeg_dq")]
        values = [r["raws"][cue] for r in sel if r["raws"][cue] is not None]
        if len(values) < 10:
            values = values + [0.0] * (10 - len(values))
        at = float(np.quantile(values, quantile, method="higher"))
        for group in groups:
            part = [r["raws"][cue] for r in sel if r.get("group", "all") == group and r["raws"][cue] is not None]
            if len(part) >= 10:
                at = max(at, float(np.quantile(part, quantile, method="higher")))
        median = float(np.median(values))
        # Whole-image and minor cues must stay quiet on photo kinds the tuning split lacks: their tails are heavy
        # (one wallpaper, one knit), so the threshold sits a margin beyond the quantile, scaled by the spread.
        at += MARGINS.get(key, 0.0) * max(at - median, 0.0)
        threshold = at + 1e-3 * max(1.0, abs(at))
        out[key] = {"threshold": round(threshold, 4), "scale": round(max((threshold - median) / 4.0, 1e-3), 4)}
    return out


def _fires(raws: dict[str, float | None], save: str, calibration: dict[str, dict[str, float]]) -> bool:
    modes = {"png": "fit", "q95": _jpeg_mode("q95"), "q75": _jpeg_mode("q75"), "q90": _jpeg_mode("q90")}
    for cue in CUES:
        key = "jpeg_dq" if cue == "jpeg" and modes[save] == "dq" else cue
        if calibrated(raws[cue], calibration[key]["threshold"], calibration[key]["scale"]) >= FIRE_AT:
            return True
    return False


def synthetic_job(args: tuple[str, tuple[int, int] | None, str | None]) -> dict[str, Any]:
    """Synthetic cue on one AI file, or on a real photo cropped/resized to a given size (pixels only, JPEG q90)."""
    path, size, _ = args
    rgb = np.asarray(Image.open(path).convert("RGB"))
    if size is not None:
        w, h = size
        scale = max(w / rgb.shape[1], h / rgb.shape[0])
        if scale > 1.0:
            rgb = cv2.resize(rgb, (math.ceil(rgb.shape[1] * scale), math.ceil(rgb.shape[0] * scale)))
        rgb = np.ascontiguousarray(rgb[:h, :w])
    raws, _ = _raws(encode(rgb, "q90"), Path(path).stem)
    return {"path": path, "raws": raws, "size": f"{rgb.shape[1]}x{rgb.shape[0]}"}


def screen_photo(rgb: np.ndarray, seed: int) -> np.ndarray:
    """Simulate photographing a screen: RGB-stripe subpixels, slight perspective, blur, noise, JPEG q90."""
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (w // 3, h // 3), interpolation=cv2.INTER_AREA)
    big = np.repeat(np.repeat(small, 3, axis=0), 3, axis=1).astype(np.float32)
    stripes = np.zeros_like(big)
    for c in range(3):
        stripes[:, c::3, c] = big[:, c::3, c] * 2.6
    stripes[2::3, :, :] *= 0.3  # dark gap between pixel rows
    hh, ww = stripes.shape[:2]
    jitter = rng.uniform(-0.03, 0.03, (4, 2)) * [ww, hh]
    src = np.float32([[0, 0], [ww, 0], [ww, hh], [0, hh]])
    dst = np.float32(src + jitter)
    warped = cv2.warpPerspective(stripes, cv2.getPerspectiveTransform(src, dst), (ww, hh))
    out = cv2.resize(warped, (int(ww * 0.8), int(hh * 0.8)), interpolation=cv2.INTER_LINEAR)
    out = cv2.GaussianBlur(out, (0, 0), 0.6) + rng.normal(0, 2.0, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def recapture_job(args: tuple[int, str]) -> dict[str, Any]:
    index, path = args
    rgb = load(Path(path))
    raws_real, _ = _raws(encode(rgb, "q90"), "real")
    raws_screen, _ = _raws(encode(screen_photo(rgb, index), "q90"), "screen")
    return {"real": raws_real["recapture"], "screen": raws_screen["recapture"]}


def timing_12mp(photo: Path, repeats: int = 3) -> dict[str, float]:
    """Median seconds of the whole check and of each cue on a 4000x3000 JPEG q90 (one process)."""
    from proofdesk.checks.pixels import _check as ck

    rgb = cv2.resize(load(photo), (4000, 3000), interpolation=cv2.INTER_CUBIC)
    data = encode(rgb, "q90")
    check = PixelsCheck.from_config({})
    totals = []
    for _ in range(repeats):
        evidence = read_evidence(data, name="12mp.jpg")
        t0 = time.perf_counter()
        check.run(evidence, ck.CheckContext())
        totals.append(time.perf_counter() - t0)
    evidence = read_evidence(data, name="12mp.jpg")
    t0 = time.perf_counter()
    evidence.pixels()
    decode = time.perf_counter() - t0
    return {"total": statistics.median(totals), "decode": decode}


def fmt(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pixels check benchmark")
    parser.add_argument("--calibrate", action="store_true", help="write calibration.json from the tuning split")
    parser.add_argument("--tune", type=int, default=90, help="untouched tuning photos")
    parser.add_argument("--eval", type=int, default=72, help="evaluation photos (one edit each)")
    parser.add_argument("--baseline", type=int, default=10, help="evaluation photos also run through pyIFD")
    parser.add_argument("--far-quantile", type=float, default=0.998, help="quantile for cues not in QUANTILES")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--reuse-tune", action="store_true", help="reuse bench/.data/pixels_tune.json (only if the cues did not change)"
    )
    parser.add_argument("--no-write", action="store_true", help="print instead of writing BENCHMARKS.md")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    photos = all_photos(fetch=False)
    rng = np.random.default_rng(4)
    tune = [p for p in photos if p.split == "tune"]
    evals = [p for p in photos if p.split == "eval"]

    # Mix sources: every Debian photo of the split, the rest listings (the shop's own kind of photo).
    def pick(pool: list[Photo], n: int) -> list[Photo]:
        debian = [p for p in pool if p.source != "listing"]
        listing = [p for p in pool if p.source == "listing"]
        take_d = debian[: n // 3]
        order = rng.permutation(len(listing))[: n - len(take_d)]
        return take_d + [listing[i] for i in order]

    tune_set, eval_set = pick(tune, args.tune), pick(evals, args.eval)
    pool = Pool(args.workers)
    print(f"tuning on {len(tune_set)} untouched photos x {len(SAVES)} saves", file=sys.stderr)
    cache = REPO / "bench" / ".data" / "pixels_tune.json"
    if args.reuse_tune and cache.exists():
        tune_rows = json.loads(cache.read_text(encoding="utf-8"))
    else:
        tune_rows = [
            r for rows in pool.map(tune_job, [(i, str(p.path), p.source) for i, p in enumerate(tune_set)]) for r in rows
        ]
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(tune_rows), encoding="utf-8")
    calibration = calibrate(tune_rows, args.far_quantile)
    if args.calibrate:
        payload = {
            "note": (
                "written by bench/pixels_bench.py --calibrate: threshold = quantile "
                f"{ {**dict.fromkeys(CUES, args.far_quantile), **QUANTILES} } of each cue's raw value on "
                f"{len(tune_rows)} untouched tuning samples "
                f"({len(tune_set)} photos x PNG/JPEG q95/JPEG q75), taken per source group (listing, camera) and "
                f"the highest kept, plus a margin x (quantile - median) of {MARGINS}"
            ),
            "cues": calibration,
        }
        CALIBRATION.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    tune_far = statistics.mean(_fires(r["raws"], r["save"], calibration) for r in tune_rows)
    print(f"tuning done in {time.perf_counter() - started:.0f}s; tune FAR {tune_far:.3f}", file=sys.stderr)
    jobs = [
        (1000 + i, str(p.path), str(eval_set[(i + 7) % len(eval_set)].path), calibration)
        for i, p in enumerate(eval_set)
    ]
    eval_rows = [r for rows in pool.map(eval_job, jobs) for r in rows]
    groups = {str(p.path): source_group(p.source) for p in eval_set}
    for row in eval_rows:
        row["group"] = groups[row["photo"]]
    print(f"evaluation done in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    base_jobs = [(j[0], j[1], j[2]) for j in jobs[: args.baseline]]
    base_rows = [r for rows in pool.map(baseline_job, base_jobs) for r in rows]
    print(f"baselines done in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    # Synthetic: each AI file against real eval photos cropped to its size.
    ai_files = sorted(p for p in AIGC.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    sizes = [Image.open(p).size for p in ai_files]
    reals = [p for p in eval_set if p.source != "listing"] + [p for p in eval_set if p.source == "listing"]
    syn_jobs: list[tuple[str, tuple[int, int] | None, str | None]] = [(str(p), None, "ai") for p in ai_files]
    for i in range(4 * len(ai_files)):
        syn_jobs.append((str(reals[i % len(reals)].path), sizes[i % len(sizes)], "real"))
    syn_rows = pool.map(synthetic_job, syn_jobs)
    rec_rows = pool.map(recapture_job, list(enumerate(str(p.path) for p in eval_set[:24])))
    pool.close()
    timing = timing_12mp(eval_set[0].path)
    print(f"all done in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    body = report(args, calibration, tune_rows, tune_far, eval_rows, base_rows, syn_rows, syn_jobs, rec_rows, timing)
    command = " ".join(["python -m bench.pixels_bench", *(argv if argv is not None else sys.argv[1:])])
    body += f"\n\nWall time of the benchmark: {time.perf_counter() - started:.0f} s ({args.workers} worker processes)."
    if args.no_write:
        print(body)
    else:
        write_section("pixels", "Pixels check (no-reference forensics)", command, body)
        print(body)
    return 0


def report(
    args: argparse.Namespace,
    calibration: dict[str, dict[str, float]],
    tune_rows: list[dict[str, Any]],
    tune_far: float,
    eval_rows: list[dict[str, Any]],
    base_rows: list[dict[str, Any]],
    syn_rows: list[dict[str, Any]],
    syn_jobs: list[tuple[str, tuple[int, int] | None, str | None]],
    rec_rows: list[dict[str, Any]],
    timing: dict[str, float],
) -> str:
    n_photos = len({r["photo"] for r in eval_rows})
    lines = [
        f"Set: {n_photos} evaluation photos (eval split of bench/datasets/photos.py: listings + Debian photos, "
        f"top-left crop to at most {MAX_SIDE} px), one seeded edit each from bench/datasets/edits.py (families "
        f"cycle, area {100 * MIN_AREA:.1f}%-{100 * MAX_AREA:.0f}% log-uniform; truth = visibly changed pixels), "
        "edited and untouched versions each saved as PNG, JPEG q95 and JPEG q75. Thresholds were set on "
        f"{len(tune_rows)} untouched samples of the tuning split only (per-cue quantile: jpeg 0.98 lattice-fit "
        f"mode, 0.97 DQ mode, others {args.far_quantile} plus a margin of {MARGINS['noise']:g} x (quantile - "
        "median) except recapture; each quantile taken per source group, listing vs camera photos, and the "
        "highest kept; "
        f"false-alarm rate on the tuning samples {100 * tune_far:.1f}%). Pixel-F1 is the check's own mask at its "
        "default threshold (an image where nothing fired scores 0).",
        "",
    ]
    rows = []
    for save in SAVES:
        untouched = [r for r in eval_rows if r["save"] == save and not r["edited"]]
        edited = [r for r in eval_rows if r["save"] == save and r["edited"]]
        rows.append(
            [
                save,
                len(edited),
                fmt(auc([r["local"] for r in edited], [r["local"] for r in untouched])),
                fmt(statistics.mean(r["f1"] for r in edited)),
                f"{100 * statistics.mean(r['label'] == 'local_edit' for r in edited):.0f}%",
                f"{100 * statistics.mean(r['fired'] for r in untouched):.1f}% ({sum(r['fired'] for r in untouched)}"
                f"/{len(untouched)})",
            ]
        )
    untouched_all = [r for r in eval_rows if not r["edited"]]
    far_all = statistics.mean(r["fired"] for r in untouched_all)
    lines.append("### Before -> after (same command, same split)")
    after = {
        save: (
            statistics.mean(r["f1"] for r in eval_rows if r["save"] == save and r["edited"]),
            auc(
                [r["local"] for r in eval_rows if r["save"] == save and r["edited"]],
                [r["local"] for r in eval_rows if r["save"] == save and not r["edited"]],
            ),
        )
        for save in SAVES
    }
    lines.append(
        markdown_table(
            ["run", "F1 png", "F1 q95", "F1 q75", "AUC png", "AUC q95", "AUC q75", "false alarms eval", "tune"],
            [
                ["before (commit 4385e19, recorded run of 2026-11-22)", *BEFORE],
                [
                    "after (this run)",
                    *(fmt(after[s][0]) for s in SAVES),
                    *(fmt(after[s][1]) for s in SAVES),
                    f"{100 * statistics.mean(r['fired'] for r in eval_rows if not r['edited']):.1f}%",
                    f"{100 * tune_far:.1f}%",
                ],
            ],
        )
    )
    lines.append("")
    lines.append("### Per re-save (evaluation split)")
    lines.append(
        markdown_table(
            ["save", "edited", "image AUC", "pixel-F1", "edits flagged local_edit", "false alarms on untouched"],
            rows,
        )
    )
    lines.append(
        f"\nFalse-alarm rate on all untouched evaluation samples at the default threshold: **{100 * far_all:.1f}%** "
        f"({sum(r['fired'] for r in untouched_all)}/{len(untouched_all)})."
    )
    per_group = []
    for group in sorted({r.get("group", "all") for r in tune_rows} | {r.get("group", "all") for r in untouched_all}):
        ev = [r["fired"] for r in untouched_all if r.get("group", "all") == group]
        tu = [_fires(r["raws"], r["save"], calibration) for r in tune_rows if r.get("group", "all") == group]
        per_group.append(f"{group}: eval {sum(ev)}/{len(ev)}, tune {sum(tu)}/{len(tu)}")
    fired_by = {}
    for r in untouched_all:
        if r["fired"]:
            fired_by[r["cue"]] = fired_by.get(r["cue"], 0) + 1
    lines.append(
        "False alarms per source group: "
        + "; ".join(per_group)
        + ". Cue behind each evaluation false alarm: "
        + (", ".join(f"{k} {v}" for k, v in sorted(fired_by.items())) or "none")
        + "."
    )
    fam_rows = []
    for kind in EDIT_KINDS:
        cells: list[object] = [kind]
        for save in SAVES:
            edited = [r for r in eval_rows if r["save"] == save and r["edited"] and r["kind"] == kind]
            untouched = [r for r in eval_rows if r["save"] == save and not r["edited"]]
            if not edited:
                cells += ["n/a", "n/a"]
                continue
            cells += [
                fmt(auc([r["local"] for r in edited], [r["local"] for r in untouched])),
                fmt(statistics.mean(r["f1"] for r in edited)),
            ]
        cells.append(len([r for r in eval_rows if r["save"] == "png" and r["edited"] and r["kind"] == kind]))
        fam_rows.append(cells)
    lines.append("\n### Per edit family (AUC / pixel-F1 per save)")
    lines.append(
        markdown_table(
            ["family", "PNG AUC", "PNG F1", "q95 AUC", "q95 F1", "q75 AUC", "q75 F1", "n"],
            fam_rows,
        )
    )
    # Baselines
    base_photos = args.baseline
    ours_sub = [r for r in eval_rows if r["edited"]]
    sub_photos = sorted({r["photo"] for r in ours_sub})[:0]
    del sub_photos
    first = {r["photo"] for r in eval_rows[: base_photos * 6]}
    ours_b = [r for r in eval_rows if r["edited"] and r["photo"] in first]
    b_rows = []
    for save in SAVES:
        ours_f1 = statistics.mean(r["f1"] for r in ours_b if r["save"] == save)
        ours_t = statistics.mean(r["seconds"] for r in ours_b if r["save"] == save)
        for method in ("NOI1", "ELA", "BLK", "ADQ1"):
            sel = [r for r in base_rows if r["method"] == method and r["save"] == save]
            ok = [r["f1"] for r in sel if r["f1"] is not None]
            f1 = statistics.mean(ok) if ok else None
            t = statistics.mean(r["seconds"] for r in sel) if sel else None
            b_rows.append(
                [
                    save,
                    method,
                    f"{len(ok)}/{len(sel)}",
                    fmt(f1),
                    fmt(ours_f1),
                    fmt(ours_f1 / f1 if f1 else None),
                    fmt(t),
                    fmt(ours_t),
                    fmt(ours_t / t if t else None),
                ]
            )
    lines.append(
        f"\n### Baseline: pyIFD 0.0.3 on the first {base_photos} evaluation photos' edits (same run, same files)"
    )
    lines.append(
        "pyIFD maps have no calibrated threshold, so they get the per-image best of 19 thresholds on the "
        "min-max-normalised map (either polarity): an oracle upper bound that favours them; ours is at its fixed "
        "default. 'maps' counts images where the method returned a map (ADQ1's JPEG path fails under NumPy 2: "
        "jpegio error)."
    )
    lines.append(
        markdown_table(
            ["save", "method", "maps", "their F1", "our F1", "F1 ratio ours/theirs", "their s", "our s", "time ratio"],
            b_rows,
        )
    )
    # Synthetic
    thr = calibration["synthetic"]
    ai = [r for r, j in zip(syn_rows, syn_jobs, strict=True) if j[2] == "ai"]
    real = [r for r, j in zip(syn_rows, syn_jobs, strict=True) if j[2] == "real"]

    def hit(r: dict[str, Any]) -> bool:
        return calibrated(r["raws"]["synthetic"], thr["threshold"], thr["scale"]) >= FIRE_AT

    lines.append("\n### Synthetic score (pixels only: metadata stripped, all re-saved as JPEG q90, same sizes)")
    lines.append(
        markdown_table(
            ["set", "n", "flagged synthetic", "AUC (AI vs real)"],
            [
                [
                    "AI files (provenance/aigc)",
                    len(ai),
                    f"{sum(map(hit, ai))}/{len(ai)}",
                    fmt(
                        auc(
                            [r["raws"]["synthetic"] or 0.0 for r in ai],
                            [r["raws"]["synthetic"] or 0.0 for r in real],
                        )
                    ),
                ],
                ["real eval photos cropped to the same sizes", len(real), f"{sum(map(hit, real))}/{len(real)}", ""],
            ],
        )
    )
    per_file = ", ".join(f"{Path(r['path']).stem} {fmt(r['raws']['synthetic'])}" for r in ai)
    lines.append(f"\nRaw synthetic statistic per AI file (threshold {thr['threshold']}): {per_file}.")
    # Recapture (simulated)
    rthr = calibration["recapture"]
    scr = [calibrated(r["screen"], rthr["threshold"], rthr["scale"]) >= FIRE_AT for r in rec_rows]
    rea = [calibrated(r["real"], rthr["threshold"], rthr["scale"]) >= FIRE_AT for r in rec_rows]
    lines.append(
        f"\n### Recapture (simulated, no real screen photos in the data)\nRGB-stripe screen + perspective + blur + "
        f"noise + JPEG q90 on {len(rec_rows)} eval photos: flagged {sum(scr)}/{len(scr)}; the same photos "
        f"undisplayed: {sum(rea)}/{len(rea)}; AUC "
        f"{fmt(auc([r['screen'] for r in rec_rows], [r['real'] for r in rec_rows]))}."
    )
    lines.append(
        f"\n### Time\n12-MP JPEG q90 (4000x3000), whole check incl. luma/DCT, median of 3, one process: "
        f"**{timing['total']:.2f} s** (+ {timing['decode']:.2f} s full decode by evidence, shared with other "
        f"checks). Mean per evaluation sample ({statistics.mean(r['megapixels'] for r in eval_rows):.1f} MP): "
        f"{statistics.mean(r['seconds'] for r in eval_rows):.2f} s. The machine is shared with other jobs; times "
        "are upper bounds."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
