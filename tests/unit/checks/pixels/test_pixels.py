"""The pixels check: each cue fires on a clear case and stays quiet on untouched real photos.

Real listing photos from ../shared/data are the untouched cases and the canvases for edits; edits are made
here with OpenCV (no fixtures by hand). Thresholds are the committed calibration (bench/pixels_bench.py).
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from proofdesk.checks.base import CheckContext
from proofdesk.checks.pixels import CUES, FIRE_AT, PixelsCheck, analyze, load_calibration
from proofdesk.checks.pixels._check import CueAnalysis, calibrated
from proofdesk.checks.pixels._common import CueResult, block_dct, luma
from proofdesk.checks.pixels.jpeg_traces import analyze_jpeg_traces
from proofdesk.checks.registry import available_checks
from proofdesk.errors import InvalidSettings
from proofdesk.evidence import read_evidence
from tests.conftest import encode, photo_like

# Listing photos with texture on the product (a plain white product gives no lattice evidence anywhere).
TEXTURED = ("mh10-red_main.jpg", "wj01-red_alt1.jpg", "wb01-gray_main.jpg")


@pytest.fixture(scope="module")
def check() -> PixelsCheck:
    return PixelsCheck.from_config({})


def _rgb(listings: Path, name: str) -> np.ndarray:
    with Image.open(listings / name) as image:
        return np.asarray(image.convert("RGB"))


def _on_product(rgb: np.ndarray, area: float, seed: int) -> np.ndarray:
    """A filled disc of about ``area`` of the image, centred on a non-white (product) pixel."""
    h, w = rgb.shape[:2]
    ys, xs = np.nonzero(rgb.min(axis=2) < 180)
    rng = np.random.default_rng(seed)
    radius = int(np.sqrt(area * h * w / np.pi))
    inside = (ys > radius) & (ys < h - radius) & (xs > radius) & (xs < w - radius)
    i = int(rng.choice(np.flatnonzero(inside)))
    mask = np.zeros((h, w), np.uint8)
    cv2.circle(mask, (int(xs[i]), int(ys[i])), radius, 255, -1)
    return mask


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def test_registered() -> None:
    assert "pixels" in available_checks()


def test_dct_matches_opencv() -> None:
    y = np.random.default_rng(0).uniform(0, 255, (16, 24)).astype(np.float32)
    ours = block_dct(y)
    assert np.allclose(ours[1, 2], cv2.dct(y[8:16, 16:24] - 128.0), atol=1e-3)


@pytest.mark.parametrize("save", ["png", "q95"])
@pytest.mark.parametrize("name", TEXTURED)
def test_inpainting_is_localized(check: PixelsCheck, listings_dir: Path, name: str, save: str) -> None:
    rgb = _rgb(listings_dir, name)
    mask = _on_product(rgb, 0.05, seed=len(name))
    edited = cv2.inpaint(rgb, mask, 5, cv2.INPAINT_TELEA)
    data = encode(edited, "PNG") if save == "png" else encode(edited, "JPEG", quality=95)
    claim = read_evidence(data, name=f"{name}.{save}")
    finding = check.run(claim, CheckContext())
    assert finding.label == "local_edit", finding.summary
    assert finding.score >= FIRE_AT
    assert finding.mask is not None and finding.mask.shape == (claim.height, claim.width)
    assert finding.mask.dtype == np.uint8 and set(np.unique(finding.mask)) <= {0, 255}
    assert _iou(finding.mask, mask) > 0.4
    assert finding.regions and all(r.cue == "jpeg" for r in finding.regions)
    assert finding.heatmap is not None and finding.heatmap.dtype == np.float32
    assert float(finding.heatmap.min()) >= 0.0 and float(finding.heatmap.max()) <= 1.0


@pytest.mark.parametrize("name", TEXTURED)
def test_small_inpainting_is_found(check: PixelsCheck, listings_dir: Path, name: str) -> None:
    """An edit of about 1% of the photo fires when it is the only off-lattice region: the JPEG statistic
    compares the largest region with the photo's other off-lattice blocks, not with the whole photo (the old
    statistic, its share of the whole photo, stayed under its calibrated threshold of 1.80 on such edits)."""
    rgb = _rgb(listings_dir, name)
    mask = _on_product(rgb, 0.012, seed=len(name) + 1)
    edited = cv2.inpaint(rgb, mask, 5, cv2.INPAINT_NS)
    finding = check.run(read_evidence(encode(edited, "JPEG", quality=95), name=f"{name}.q95"), CheckContext())
    assert finding.label == "local_edit", finding.summary
    assert finding.mask is not None and _iou(finding.mask, mask) > 0.3
    assert float(finding.measurements["jpeg.largest_region_heat_pct"] or 0.0) < 1.5  # small by the old measure


def test_mask_is_drawn_only_from_cues_that_fired(check: PixelsCheck) -> None:
    """A quiet cue's map stays in the heat map as a hint but draws no region; the fired cue's map does."""
    jpeg_heat = np.zeros((50, 50), np.float32)
    jpeg_heat[10:20, 10:20] = 1.0
    noise_heat = np.zeros((25, 25), np.float32)
    noise_heat[15:22, 15:22] = 1.0  # bottom-right, in noise's 16-px grid
    cal = check.calibration
    analysis = CueAnalysis(
        cues={
            "jpeg": CueResult("jpeg", 10 * cal["jpeg"]["threshold"], heatmap=jpeg_heat),
            "noise": CueResult("noise", 0.99 * cal["noise"]["threshold"], heatmap=noise_heat),
        },
        shape=(400, 400),
    )
    finding = check.finding(analysis)
    assert finding.label == "local_edit" and finding.mask is not None
    assert finding.mask[80:160, 80:160].min() == 255  # the jpeg region
    assert finding.mask[260:340, 260:340].max() == 0  # noise below its threshold: not in the mask
    assert finding.heatmap is not None and float(finding.heatmap[260 // 8 : 340 // 8, 260 // 8 : 340 // 8].max()) > 0.5
    assert {r.cue for r in finding.regions} == {"jpeg"} and len(finding.regions) == 1


@pytest.mark.parametrize("name", TEXTURED)
def test_untouched_listing_photos_stay_quiet(check: PixelsCheck, listings_dir: Path, name: str) -> None:
    rgb = _rgb(listings_dir, name)
    for data in ((listings_dir / name).read_bytes(), encode(rgb, "PNG"), encode(rgb, "JPEG", quality=95)):
        finding = check.run(read_evidence(data, name=name), CheckContext())
        assert finding.label == "none", finding.summary
        assert finding.mask is None


def test_false_alarms_on_a_sample_of_listings(check: PixelsCheck, listings_dir: Path) -> None:
    """At the default threshold (≈2% false alarms by calibration), 16 real listing photos raise at most one."""
    files = sorted(listings_dir.glob("*.jpg"))[5::29][:16]
    fired = [f.name for f in files if check.run(read_evidence(f), CheckContext()).label != "none"]
    assert len(fired) <= 1, fired


def test_jpeg_cue_reads_the_file_table_and_skips_never_jpeg(listings_dir: Path) -> None:
    never = photo_like(256, 256, seed=3)
    result = analyze_jpeg_traces(never, luma(never), last_table=None)
    assert result.raw is None and result.skipped and "lattice" in result.skipped
    rgb = _rgb(listings_dir, TEXTURED[0])
    png = np.asarray(Image.open(io.BytesIO(encode(rgb, "PNG"))).convert("RGB"))
    found = analyze_jpeg_traces(png, luma(png), last_table=None)
    with Image.open(listings_dir / TEXTURED[0]) as image:
        table = image.quantization[0]
    assert found.measurements["q1_dc"] == table[0]  # the first compression's DC step, read from pixels alone


def test_copy_move_clone_is_found() -> None:
    rgb = photo_like(600, 800, seed=5)
    rng = np.random.default_rng(1)
    rgb = np.clip(rgb.astype(np.int16) + rng.integers(-20, 21, rgb.shape), 0, 255).astype(np.uint8)
    edited = rgb.copy()
    edited[300:420, 500:660] = rgb[60:180, 80:240]
    analysis = analyze(read_evidence(encode(edited, "PNG"), name="clone.png"))
    cal = load_calibration()["copy_move"]
    cue = analysis.cues["copy_move"]
    assert calibrated(cue.raw, cal["threshold"], cal["scale"]) >= FIRE_AT, cue.measurements
    assert cue.heatmap is not None
    scale = cue.heatmap.shape[1] / 800
    target = cue.heatmap[int(310 * scale) : int(410 * scale), int(510 * scale) : int(650 * scale)]
    assert float(target.mean()) > 0.5
    plain = analyze(read_evidence(encode(rgb, "PNG"), name="plain.png")).cues["copy_move"]
    assert calibrated(plain.raw, cal["threshold"], cal["scale"]) < FIRE_AT


def test_noise_cue_sees_a_smoothed_region() -> None:
    """The noise map marks a smoothed region; its calibrated threshold is high (studio photos are noise-poor and
    textured), so the signal is checked against the untouched image, not against the firing threshold."""
    rng = np.random.default_rng(2)
    base = np.full((512, 512, 3), 120, np.float32) + np.linspace(0, 60, 512)[None, :, None]
    noisy = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    edited = noisy.copy()
    edited[200:330, 180:330] = cv2.GaussianBlur(noisy, (0, 0), 4)[200:330, 180:330]
    cal = load_calibration()["noise"]
    cue = analyze(read_evidence(encode(edited, "PNG"), name="smooth.png")).cues["noise"]
    clean = analyze(read_evidence(encode(noisy, "PNG"), name="noisy.png")).cues["noise"]
    assert cue.raw is not None and clean.raw is not None
    assert cue.raw > 5 * max(clean.raw, 0.1)
    assert cue.heatmap is not None
    cells = cue.heatmap[200 // 16 : 330 // 16, 180 // 16 : 330 // 16]
    assert float(cells.mean()) > 3 * float(cue.heatmap.mean())
    assert calibrated(clean.raw, cal["threshold"], cal["scale"]) < FIRE_AT


def _screen_photo(rgb: np.ndarray) -> np.ndarray:
    """An RGB-stripe screen showing ``rgb``, photographed slightly off-axis (as bench/pixels_bench.py does)."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (w // 3, h // 3), interpolation=cv2.INTER_AREA)
    big = np.repeat(np.repeat(small, 3, axis=0), 3, axis=1).astype(np.float32)
    stripes = np.zeros_like(big)
    for c in range(3):
        stripes[:, c::3, c] = big[:, c::3, c] * 2.6
    stripes[2::3] *= 0.3
    hh, ww = stripes.shape[:2]
    src = np.float32([[0, 0], [ww, 0], [ww, hh], [0, hh]])
    dst = np.float32(np.add(src, [[12, -8], [-10, 9], [7, 11], [-9, -6]]))
    warped = cv2.warpPerspective(stripes, cv2.getPerspectiveTransform(src, dst), (ww, hh))
    out = cv2.resize(warped, (int(ww * 0.8), int(hh * 0.8)), interpolation=cv2.INTER_LINEAR)
    return np.clip(cv2.GaussianBlur(out, (0, 0), 0.6), 0, 255).astype(np.uint8)


def test_recapture_fires_on_a_screen_photo(check: PixelsCheck, listings_dir: Path) -> None:
    rgb = _rgb(listings_dir, TEXTURED[1])
    screen = read_evidence(encode(_screen_photo(rgb), "JPEG", quality=90), name="screen.jpg")
    finding = check.run(screen, CheckContext())
    assert finding.label == "recaptured", finding.summary
    assert finding.mask is None  # whole-image labels never claim a localized edit
    plain = check.run(read_evidence(encode(rgb, "JPEG", quality=90), name="plain.jpg"), CheckContext())
    assert float(plain.measurements["recapture.score"]) < FIRE_AT


def test_synthetic_cue_fires_on_checkerboard_upsampling(listings_dir: Path) -> None:
    """Transposed-convolution up-sampling leaves a checkerboard (period-2) modulation: the classic generator trace."""
    rng = np.random.default_rng(4)
    low = cv2.GaussianBlur(np.clip(rng.normal(128, 30, (400, 400, 3)), 0, 255).astype(np.uint8), (0, 0), 1.5)
    up = cv2.resize(low, (800, 800), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    i, j = np.mgrid[0:800, 0:800]
    generated = np.clip(up * (1 + 0.02 * ((-1.0) ** (i + j)))[..., None], 0, 255).astype(np.uint8)
    cal = load_calibration()["synthetic"]
    cue = analyze(read_evidence(encode(generated, "PNG"), name="gen.png")).cues["synthetic"]
    assert calibrated(cue.raw, cal["threshold"], cal["scale"]) >= FIRE_AT, cue.measurements
    real = analyze(read_evidence(listings_dir / TEXTURED[0])).cues["synthetic"]
    assert calibrated(real.raw, cal["threshold"], cal["scale"]) < FIRE_AT


def test_resampled_paste_is_the_strongest_tile() -> None:
    """A bicubically enlarged paste gives the strongest resampling tile where it sits (the cue is weak: its
    calibrated threshold is above this case, see the README)."""
    rgb = photo_like(768, 768, seed=8)
    rng = np.random.default_rng(8)
    rgb = np.clip(rgb.astype(np.int16) + rng.integers(-12, 13, rgb.shape), 0, 255).astype(np.uint8)
    patch = cv2.resize(rgb[0:162, 0:162], (259, 259), interpolation=cv2.INTER_CUBIC)
    edited = rgb.copy()
    edited[384:640, 384:640] = patch[:256, :256]
    cue = analyze(read_evidence(encode(edited, "PNG"), name="resampled.png")).cues["resampling"]
    plain = analyze(read_evidence(encode(rgb, "PNG"), name="plain.png")).cues["resampling"]
    assert cue.heatmap is not None and cue.raw is not None and plain.raw is not None
    row, col = np.unravel_index(int(np.argmax(cue.heatmap)), cue.heatmap.shape)
    assert 3 <= row <= 4 and 3 <= col <= 4
    assert cue.raw > plain.raw + 2.0


@pytest.mark.parametrize("size", [(1, 1), (16, 16), (40, 30), (70, 200)])
def test_tiny_images_run(check: PixelsCheck, size: tuple[int, int]) -> None:
    rgb = photo_like(max(size[0], 2), max(size[1], 2), seed=1)[: size[0], : size[1]]
    for data in (encode(rgb, "PNG"), encode(rgb, "JPEG", quality=90)):
        finding = check.run(read_evidence(data, name="tiny"), CheckContext())
        assert finding.label == "none"
        assert finding.heatmap is not None and finding.heatmap.ndim == 2


def test_grayscale_image(check: PixelsCheck, listings_dir: Path) -> None:
    with Image.open(listings_dir / TEXTURED[2]) as image:
        grey = np.asarray(image.convert("L"))
    buffer = io.BytesIO()
    Image.fromarray(grey, mode="L").save(buffer, format="JPEG", quality=90)
    finding = check.run(read_evidence(buffer.getvalue(), name="grey.jpg"), CheckContext())
    assert finding.label == "none", finding.summary


def test_measurements_and_thresholds_explain_every_cue(check: PixelsCheck, listings_dir: Path) -> None:
    finding = check.run(read_evidence(listings_dir / TEXTURED[0]), CheckContext())
    for cue in CUES:
        assert f"{cue}.score" in finding.measurements
        assert f"{cue}.raw" in finding.thresholds
    assert finding.to_json()["check"] == "pixels"


def test_config_is_validated() -> None:
    with pytest.raises(InvalidSettings):
        PixelsCheck.from_config({"nope": 1})
    with pytest.raises(InvalidSettings):
        PixelsCheck.from_config({"thresholds": {"moon": 1.0}})
    with pytest.raises(InvalidSettings):
        PixelsCheck.from_config({"mask_threshold": 1.5})
    strict = PixelsCheck.from_config({"thresholds": {"jpeg": 0.1}})
    assert strict.calibration["jpeg"]["threshold"] == 0.1


@pytest.mark.slow
def test_twelve_megapixel_photo(check: PixelsCheck, listings_dir: Path) -> None:
    rgb = cv2.resize(_rgb(listings_dir, TEXTURED[0]), (4000, 3000), interpolation=cv2.INTER_CUBIC)
    claim = read_evidence(encode(rgb, "JPEG", quality=90), name="12mp.jpg")
    finding = check.run(claim, CheckContext())
    assert finding.heatmap is not None
    assert finding.heatmap.shape == (3000 // 8, 4000 // 8)
    if finding.mask is not None:
        assert finding.mask.shape == (3000, 4000)
