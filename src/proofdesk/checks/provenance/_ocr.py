"""Visible AI labels ("AI生成", "豆包AI生成", "即梦AI", ...) read by OCR on edge and corner crops only.

GB 45438-2025 §5.2 puts the explicit label on an edge or corner, at least 5 % of the short side high. We
crop the four corners and the bottom centre of a ~1024-px copy, stack them into one image and run RapidOCR
once (its detection and recognition models ship inside the ``rapidocr-onnxruntime`` wheel; nothing is
downloaded). OCR costs ~1-2 s on 2 cores, so ``_check`` runs it only behind a cheap gate (see
:func:`corner_text_likelihood` and the README), and the engine is created lazily on first use.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

#: Crop size as fractions of (height, width). 15 % of the height covers a 5 %-high label with margin.
_CROP_H: Final = 0.15
_CROP_W: Final = 0.4
_WORK_SIDE: Final = 1024
#: Text that makes a visible AI label: 「AI」or「人工智能」with「生成」/「合成」, or a known vendor mark.
_LABEL = re.compile(
    r"(AI|人工智能).{0,4}(生成|合成)|(生成|合成).{0,2}AI|即梦\s*AI|可灵\s*AI|LiblibAI|元宝", re.IGNORECASE
)
_VENDORS: Final = {
    "豆包": "Doubao",
    "即梦": "Jimeng",
    "千问": "Qwen",
    "可灵": "Kling",
    "元宝": "Tencent Yuanbao",
    "百度": "Baidu",
    "runninghub": "RunningHub",
    "liblib": "LiblibAI",
}
_REGIONS: Final = ("top-left", "top-right", "bottom-left", "bottom-right", "bottom-centre")


@dataclass(frozen=True)
class VisibleLabel:
    """One label read in one region, with its box in claim-image pixels."""

    text: str
    confidence: float
    region: str
    vendor: str | None
    box: tuple[int, int, int, int]


def _crops(rgb: npt.NDArray[np.uint8]) -> list[tuple[str, int, int, npt.NDArray[np.uint8]]]:
    h, w = rgb.shape[:2]
    ch, cw = max(16, int(h * _CROP_H)), max(16, int(w * _CROP_W))
    origins = [(0, 0), (0, w - cw), (h - ch, 0), (h - ch, w - cw), (h - ch, (w - cw) // 2)]
    return [(name, y, x, rgb[y : y + ch, x : x + cw]) for name, (y, x) in zip(_REGIONS, origins, strict=True)]


def corner_text_line(rgb: npt.NDArray[np.uint8]) -> int:
    """Cheap gate (~20 ms): the longest run of glyph-like blobs on one line in any edge crop.

    Bright-on-dark and dark-on-bright strokes are isolated with a 9-px top-hat / black-hat on a 1024-px copy,
    connected components of glyph size (6 px to half the crop high, at most 3x as wide as high) are kept, and
    for each blob we count the blobs of similar height on the same line within 2.5 heights. The shortest
    legal label, "AI生成", is four glyphs, so a run of four is what the gate asks for. It only decides whether
    to spend OCR time; it never produces a signal itself.
    """
    h, w = rgb.shape[:2]
    scale = _WORK_SIDE / max(h, w)
    if scale < 1:
        rgb = np.asarray(cv2.resize(rgb, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA),
                         dtype=np.uint8)
    gray: npt.NDArray[np.uint8] = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9))
    best = 0
    for _name, _y, _x, crop in _crops(gray[:, :, None]):
        plane = np.ascontiguousarray(crop[:, :, 0])
        for hat in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT):
            mask = (cv2.morphologyEx(plane, hat, kernel) > 50).astype(np.uint8)
            count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
            s = stats[1:count]
            keep = s[(s[:, 3] >= 6) & (s[:, 3] <= 0.5 * plane.shape[0]) & (s[:, 2] <= 3 * s[:, 3]) & (s[:, 4] >= 12)]
            if len(keep) < 2:
                continue
            heights = keep[:, 3].astype(np.float64)
            cy = keep[:, 1] + heights / 2
            cx = keep[:, 0] + keep[:, 2] / 2.0
            ratio = heights[:, None] / heights[None, :]
            dx = np.abs(cx[:, None] - cx[None, :])
            same_line = (np.abs(cy[:, None] - cy[None, :]) < 0.4 * heights[:, None]) & (ratio > 0.6) & (ratio < 1.7)
            neighbours = (same_line & (dx < 2.5 * heights[:, None]) & (dx > 0)).sum(axis=1)
            best = max(best, int(neighbours.max()) + 1)
    return best


class LabelReader:
    """Lazily created RapidOCR engine; one per check instance, shared across threads under a lock."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._lock = threading.Lock()
        self.unavailable_reason: str | None = None

    def _get(self) -> Any:
        if self._engine is None and self.unavailable_reason is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as exc:
                self.unavailable_reason = f"rapidocr-onnxruntime not installed ({exc})"
                return None
            self._engine = RapidOCR()
        return self._engine

    def read(self, rgb: npt.NDArray[np.uint8], full_width: int) -> list[VisibleLabel]:
        """Labels found in the edge crops of ``rgb`` (any size); boxes scaled to ``full_width``."""
        h, w = rgb.shape[:2]
        scale = _WORK_SIDE / max(h, w)
        if scale < 1:
            rgb = np.asarray(cv2.resize(rgb, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA),
                             dtype=np.uint8)
        to_full = full_width / rgb.shape[1]
        crops = _crops(rgb)
        stack = np.concatenate([c for *_rest, c in crops], axis=0)
        offsets = np.cumsum([0] + [c.shape[0] for *_rest, c in crops])
        with self._lock:
            engine = self._get()
            if engine is None:
                return []
            result, _elapsed = engine(np.ascontiguousarray(stack[:, :, ::-1]))
        labels: list[VisibleLabel] = []
        for box, text, confidence in result or []:
            text = str(text)
            if not _LABEL.search(text) or float(confidence) < 0.5:
                continue
            ys = [p[1] for p in box]
            xs = [p[0] for p in box]
            index = int(np.searchsorted(offsets, float(np.mean(ys)), side="right") - 1)
            index = min(max(index, 0), len(crops) - 1)
            name, y0, x0, _crop = crops[index]
            top = y0 + min(ys) - offsets[index]
            lowered = text.lower()
            vendor = next((v for k, v in _VENDORS.items() if k in lowered), None)
            labels.append(
                VisibleLabel(
                    text=text,
                    confidence=float(confidence),
                    region=name,
                    vendor=vendor,
                    box=(int((x0 + min(xs)) * to_full), int(top * to_full),
                         int((max(xs) - min(xs)) * to_full), int((max(ys) - min(ys)) * to_full)),
                )
            )
        return labels
