"""Benchmark of the provenance and metadata checks: per-signal detected / missed / false alarms, and cost.

Where this sits: run by hand or by ``proofdesk bench``-style scripts, never in tests; it writes the
"provenance" section of BENCHMARKS.md through ``bench._report.write_section``.

Data (nothing here was used to choose a threshold: scores and thresholds come from
/work/shared/reference/provenance.md, so every number below is an evaluation number):

* positives: every file in ../shared/data/provenance with its known content (../shared/data/SOURCES.md),
  encoded as the EXPECTED table below;
* negatives: real camera photos from Debian packages (``bench/datasets/photos.py``) and the 466 listing photos;
* watermark positives: Debian photos (eval split) cropped to 1024x1024 and marked with each open payload by the
  reference-equivalent encoder, saved as PNG, JPEG q95 and JPEG q90;
* 12-MP timing set: Debian photos resized to 4000x3000 and saved as JPEG q92 with phone-like EXIF.

``python -m bench.provenance_bench [--ocr-sample N]``; ``--crosscheck`` compares the watermark code bit for bit
with the reference package (its own BENCHMARKS.md section).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from bench._report import markdown_table, write_section
from bench.datasets.photos import LISTINGS, debian_photos
from proofdesk.checks.base import CheckContext
from proofdesk.checks.metadata import MetadataCheck
from proofdesk.checks.provenance import ProvenanceCheck
from proofdesk.checks.provenance import _ocr as ocr_mod
from proofdesk.checks.provenance import _watermark as wm
from proofdesk.evidence import Evidence, read_evidence

PROVENANCE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "provenance").resolve()
DATA = Path(__file__).resolve().parent / ".data" / "provenance-bench"

#: file -> expected (signal kind, label, a value that must appear in the signal) per SOURCES.md.
EXPECTED: dict[str, list[tuple[str, str, str]]] = {
    "aigc/doubao_black_1x1_1.png": [("aigc_label", "ai_generated", "001191110102MACQD9K64010000"),
                                    ("visible_label", "ai_generated", "豆包AI生成")],
    # SOURCES.md names only the implicit label; reference/provenance.md §1.2 lists Jimeng's visible "★ 即梦AI" mark.
    "aigc/jimeng_cap_A.png": [("aigc_label", "ai_generated", "00119144030008867405X210001"),
                              ("visible_label", "ai_generated", "即梦")],
    "aigc/firefly-1.png": [("c2pa", "ai_generated", "trainedAlgorithmicMedia")],
    "aigc/chatgpt-1.png": [("c2pa", "ai_generated", "GPT-4o")],
    "aigc/flux-1.jpg": [("c2pa", "ai_generated", "Flux.2")],
    "aigc/samsung_black_1.png": [("c2pa", "ai_edited", "compositeWithTrainedAlgorithmicMedia"),
                                 ("vendor", "ai_edited", "genAIType")],
    "aigc/mj-1.png": [("generator", "ai_generated", "Job ID"), ("iptc", "ai_generated", "trainedAlgorithmicMedia")],
    "aigc/grok-1.jpg": [("vendor", "ai_generated", "Signature:")],
    "aigc/adobe-trustmark-p.png": [],
    "c2pa/C.jpg": [("c2pa", "signed_edit", "c2pa.created")],
    "c2pa/CA.jpg": [("c2pa", "signed_edit", "c2pa.color_adjustments")],
    "c2pa/XCA.jpg": [("c2pa", "tampered_credential", "assertion.dataHash.mismatch")],
    "c2pa/E-sig-CA.jpg": [("c2pa", "tampered_credential", "claimSignature.mismatch")],
    "c2pa/cloud.jpg": [("c2pa", "none", "cai-manifests.adobe.com")],
    "c2pa/A.jpg": [],
    "c2pa/boxhash.jpg": [("c2pa", "signed_edit", "c2pa.opened")],
    "c2pa/sample1.heic": [],
    "c2pa/sample1.webp": [],
    "c2pa/libpng-test.png": [],
}


def _signal_text(signal: dict[str, object]) -> str:
    return f"{signal.get('value')} {signal.get('summary')} {signal.get('detail')}"


def fixtures(check_all: ProvenanceCheck) -> tuple[list[list[object]], Counter[str], list[str]]:
    """Per-signal detected/missed on the fixtures (OCR forced on, to measure it), plus unexpected AI claims."""
    counts: Counter[str] = Counter()
    rows: list[list[object]] = []
    unexpected: list[str] = []
    for name, expected in EXPECTED.items():
        finding = check_all.run(read_evidence(PROVENANCE / name), CheckContext())
        signals = finding.details["signals"]
        got = []
        for kind, label, needle in expected:
            hit = any(s["kind"] == kind and s["label"] == label and needle in _signal_text(s) for s in signals)
            counts[f"{kind}:{'detected' if hit else 'missed'}"] += 1
            got.append(f"{kind}={'ok' if hit else 'MISSED'}")
        expected_kinds = {(k, lab) for k, lab, _ in expected}
        for s in signals:
            if s["label"].startswith("ai_") and (s["kind"], s["label"]) not in expected_kinds:
                unexpected.append(f"{name}: {s['kind']} {s['label']} ({s['source']})")
        rows.append([name, finding.label, finding.score, ", ".join(got) or "(nothing expected)",
                     len(signals)])
    return rows, counts, unexpected


def _load(path: Path) -> Evidence | None:
    try:
        return read_evidence(path)
    except Exception:  # noqa: BLE001 - a negative that cannot be read is skipped and counted
        return None


def negatives(check: ProvenanceCheck, photos: list[Path], ocr_sample: int) -> dict[str, object]:
    """AI false alarms, label counts, gate rates and costs on real photos with no AI content."""
    labels: Counter[str] = Counter()
    meta_labels: Counter[str] = Counter()
    metadata_check = MetadataCheck.from_config({})
    ai_alarms: list[str] = []
    meta_ms: list[float] = []
    wm_gate = ocr_gate = 0
    wm_ms: list[float] = []
    wm_false = 0
    ocr_ms: list[float] = []
    ocr_false: list[str] = []
    unreadable = 0
    gated_for_ocr: list[Evidence] = []
    for path in photos:
        evidence = _load(path)
        if evidence is None:
            unreadable += 1
            continue
        t0 = time.perf_counter()
        signals, _facts = check.metadata_signals(evidence)
        meta_ms.append((time.perf_counter() - t0) * 1000)
        for s in signals:
            labels[f"{s.kind}:{s.label}"] += 1
            if s.label.startswith("ai_") or s.label == "tampered_credential":
                ai_alarms.append(f"{path.name}: {s.summary}")
        meta_labels[metadata_check.run(evidence, CheckContext()).label] += 1
        current = max((s.score for s in signals), default=0.0)
        run_wm, _ = check.watermark_gate(evidence, current)
        wm_gate += run_wm
        # The decoder runs on every negative (not only gated ones) so its false-alarm rate is measured in full.
        t0 = time.perf_counter()
        match = wm.best_match(evidence.pixels())
        wm_ms.append((time.perf_counter() - t0) * 1000)
        wm_false += match.detected
        run_ocr, _, _ = check.ocr_gate(evidence, current)
        ocr_gate += run_ocr
        if run_ocr:
            gated_for_ocr.append(evidence)
    reader = ocr_mod.LabelReader()
    for evidence in gated_for_ocr[:ocr_sample]:
        t0 = time.perf_counter()
        found = reader.read(evidence.reduced(1024), evidence.width)
        ocr_ms.append((time.perf_counter() - t0) * 1000)
        ocr_false += [f"{evidence.name}: {x.text}" for x in found]
    n = len(meta_ms)
    return {
        "n": n, "unreadable": unreadable, "labels": labels, "meta_labels": meta_labels, "ai_alarms": ai_alarms,
        "meta_median_ms": statistics.median(meta_ms) if meta_ms else 0.0,
        "wm_gate": wm_gate, "wm_false": wm_false, "wm_median_ms": statistics.median(wm_ms) if wm_ms else 0.0,
        "ocr_gate": ocr_gate, "ocr_runs": len(ocr_ms), "ocr_false": ocr_false,
        "ocr_median_ms": statistics.median(ocr_ms) if ocr_ms else 0.0,
    }


def watermark_positives(sources: list[Path]) -> tuple[list[list[object]], float]:
    """Detection rate of each payload on marked Debian crops, as PNG, JPEG q95 and JPEG q90."""
    rows: list[list[object]] = []
    times: list[float] = []
    crops = []
    for path in sources:
        image = np.asarray(Image.open(path).convert("RGB"))
        h, w = image.shape[:2]
        if min(h, w) < 1024:
            continue
        crops.append(np.ascontiguousarray(image[(h - 1024) // 2 : (h + 1024) // 2, (w - 1024) // 2 : (w + 1024) // 2]))
    for payload in wm.PAYLOADS:
        hits: Counter[str] = Counter()
        bits: defaultdict[str, list[int]] = defaultdict(list)
        for crop in crops:
            marked = wm.encode(crop, payload.bits)
            for variant, params in (("PNG", {}), ("JPEG q95", {"quality": 95}), ("JPEG q90", {"quality": 90})):
                buffer = io.BytesIO()
                Image.fromarray(marked).save(buffer, format="PNG" if variant == "PNG" else "JPEG", **params)
                evidence = read_evidence(buffer.getvalue(), name="marked")
                t0 = time.perf_counter()
                match = wm.best_match(evidence.pixels())
                times.append((time.perf_counter() - t0) * 1000)
                hits[variant] += match.payload == payload and match.detected
                decoded = wm.decode(wm.block_bits(evidence.pixels()), len(payload.bits))
                bits[variant].append(int(np.sum(decoded == np.asarray(payload.bits, dtype=np.uint8))))
        for variant in ("PNG", "JPEG q95", "JPEG q90"):
            rows.append([payload.name, variant, f"{hits[variant]}/{len(crops)}",
                         f"{min(bits[variant], default=0)}-{max(bits[variant], default=0)}/{len(payload.bits)}",
                         payload.threshold])
    return rows, statistics.median(times) if times else 0.0


def twelve_mp_timing(check: ProvenanceCheck, sources: list[Path]) -> tuple[float, int]:
    """Median ms of all metadata signals on 4000x3000 JPEGs with phone-like EXIF (decode excluded)."""
    DATA.mkdir(parents=True, exist_ok=True)
    times: list[float] = []
    for index, path in enumerate(sources):
        target = DATA / f"12mp-{index:02d}.jpg"
        if not target.exists():
            exif = Image.Exif()
            exif[0x010F], exif[0x0110], exif[0x0131] = "Xiaomi", "23127PN0CC", "fuxi-user 14"
            exif.get_ifd(0x8769)[0x9003] = "2026:11:12 20:30:00"
            Image.open(path).convert("RGB").resize((4000, 3000)).save(target, "JPEG", quality=92, exif=exif.tobytes())
        evidence = read_evidence(target)
        for _ in range(3):
            t0 = time.perf_counter()
            check.metadata_signals(evidence)
            MetadataCheck.from_config({}).run(evidence, CheckContext())
            times.append((time.perf_counter() - t0) * 1000)
    return (statistics.median(times) if times else 0.0), len(sources)


def reference_crosscheck(sources: list[Path]) -> str:
    """Compare our DWT-DCT encoder/decoder bit for bit with ``imwatermark/maxDct.py`` of invisible-watermark 0.2.0.

    The wheel is fetched with pip into bench/.data (no install: the package hard-requires torch); only its
    pure numpy/cv2/pywt module ``maxDct.py`` is loaded.
    """
    import importlib.util
    import subprocess
    import sys
    import zipfile

    folder = DATA / "invisible-watermark"
    folder.mkdir(parents=True, exist_ok=True)
    if not list(folder.glob("*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "invisible-watermark==0.2.0",
                        "-d", str(folder), "-q"], check=True)
    wheel = next(folder.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        (folder / "maxDct.py").write_bytes(archive.read("imwatermark/maxDct.py"))
    spec = importlib.util.spec_from_file_location("reference_maxdct", folder / "maxDct.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows: list[list[object]] = []
    for path in sources:
        image = np.asarray(Image.open(path).convert("RGB").resize((768, 512)))
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        for payload in wm.PAYLOADS:
            bits = list(payload.bits)
            reference = module.EmbedMaxDct(bits, wmLen=len(bits)).encode(bgr.copy())
            ours = wm.encode(image, payload.bits)[:, :, ::-1]
            ref_bits = module.EmbedMaxDct(bits, wmLen=len(bits)).decode(reference).astype(np.uint8)
            our_bits = wm.decode(wm.block_bits(np.ascontiguousarray(reference[:, :, ::-1])), len(bits))
            plain_ref = module.EmbedMaxDct(bits, wmLen=len(bits)).decode(bgr).astype(np.uint8)
            plain_ours = wm.decode(wm.block_bits(image), len(bits))
            rows.append([path.name, payload.name.split(" (")[0], bool(np.array_equal(reference, ours)),
                         bool(np.array_equal(ref_bits, our_bits)), bool(np.array_equal(plain_ref, plain_ours))])
    return (f"Reference: `imwatermark/maxDct.py` from {wheel.name}.\n\n" + markdown_table(
        ["photo", "payload", "encoded pixels identical", "decoded bits identical (marked)",
         "decoded bits identical (unmarked)"], rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ocr-sample", type=int, default=25, help="OCR runs on at most this many gated negatives")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--crosscheck", action="store_true",
                        help="only compare the watermark code with invisible-watermark 0.2.0 (own section)")
    args = parser.parse_args()
    if args.crosscheck:
        sources = [p.path for p in debian_photos(fetch=True) if p.split == "eval"][:4]
        body = reference_crosscheck(sources)
        print(body)
        if not args.no_write:
            write_section("provenance-watermark", "DWT-DCT watermark: bit-exactness against invisible-watermark",
                          "python -m bench.provenance_bench --crosscheck", body)
        return 0
    auto = ProvenanceCheck.from_config({})
    forced = ProvenanceCheck.from_config({"ocr": "always", "watermark": "always"})

    fixture_rows, counts, unexpected = fixtures(forced)
    debian = [p.path for p in debian_photos(fetch=True)]
    listings = sorted(LISTINGS.glob("*.jpg"))
    neg_debian = negatives(auto, debian, args.ocr_sample)
    neg_listings = negatives(auto, listings, args.ocr_sample)
    eval_sources = [p.path for p in debian_photos(fetch=False) if p.split == "eval"][:8]
    wm_rows, wm_ms_pos = watermark_positives(eval_sources)
    ms_12mp, n_12mp = twelve_mp_timing(auto, eval_sources[:6])

    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, value in counts.items():
        kind, outcome = key.split(":")
        per_kind[kind][0 if outcome == "detected" else 1] += value
    neg_rows = []
    for name, neg in (("Debian camera photos", neg_debian), ("listing photos", neg_listings)):
        neg_rows.append([name, neg["n"], len(neg["ai_alarms"]), neg["wm_false"],  # type: ignore[arg-type]
                         f"{len(neg['ocr_false'])}/{neg['ocr_runs']}",  # type: ignore[arg-type]
                         f"{neg['meta_median_ms']:.2f}", f"{neg['wm_gate']}/{neg['n']}", f"{neg['wm_median_ms']:.1f}",
                         f"{neg['ocr_gate']}/{neg['n']}", f"{neg['ocr_median_ms']:.0f}"])
    body = "\n\n".join([
        "Thresholds and scores come from reference/provenance.md and were not tuned on "
        "any of this data, so all numbers are evaluation numbers. Fixture run with OCR and watermark forced on.",
        "**Per signal on ../shared/data/provenance (known content per SOURCES.md)**\n\n" + markdown_table(
            ["signal", "detected", "missed"], [[k, v[0], v[1]] for k, v in sorted(per_kind.items())]),
        "Unexpected AI signals on fixtures: " + ("; ".join(unexpected) if unexpected else "none"),
        markdown_table(["fixture", "label", "score", "expected signals", "signals read"], fixture_rows),
        "**Negatives (no AI content)**: AI/tamper false alarms from metadata, watermark false alarms (decoder run "
        "on every photo, gate ignored), visible-label OCR false alarms on the gated sample; gate rates and median "
        "costs.\n\n"
        + markdown_table(["set", "photos", "metadata AI alarms", "watermark alarms", "OCR alarms/runs",
                          "metadata ms (median)", "watermark gate open", "watermark ms", "OCR gate open", "OCR ms"],
                         neg_rows),
        "Metadata-signal label counts on negatives: Debian "
        + ", ".join(f"{k} {v}" for k, v in sorted(neg_debian["labels"].items()))  # type: ignore[attr-defined]
        + "; listings " + (", ".join(f"{k} {v}" for k, v in sorted(neg_listings["labels"].items()))  # type: ignore[attr-defined]
                           or "none")
        + ". `metadata` check labels (no timeline, no siblings): Debian "
        + ", ".join(f"{k} {v}" for k, v in sorted(neg_debian["meta_labels"].items()))  # type: ignore[attr-defined]
        + "; listings " + ", ".join(f"{k} {v}" for k, v in sorted(neg_listings["meta_labels"].items())),  # type: ignore[attr-defined]
        "AI/tamper alarms on negatives: "
        + ("; ".join([*neg_debian["ai_alarms"], *neg_listings["ai_alarms"]][:10])  # type: ignore[misc]
           or "none")
        + ". Visible-label OCR alarms: "
        + ("; ".join([*neg_debian["ocr_false"], *neg_listings["ocr_false"]][:10]) or "none"),  # type: ignore[misc]
        "**Open DWT-DCT watermark on marked Debian crops (1024x1024, eval split)**\n\n" + markdown_table(
            ["payload", "container", "detected", "matching bits (min-max)", "threshold"], wm_rows)
        + f"\n\nMedian decode time on 1024x1024: {wm_ms_pos:.1f} ms.",
        f"**12-MP JPEG, all metadata signals (provenance metadata readers + metadata check), decode excluded**: "
        f"median {ms_12mp:.2f} ms over {n_12mp} files x 3 runs (target <= 30 ms).",
    ])
    print(body)
    if not args.no_write:
        write_section("provenance", "Provenance and metadata checks", "python -m bench.provenance_bench", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
