"""Real photographs for the benchmarks: merchant listing photos and unrelated camera photos.

Where this sits: the first step of every benchmark that needs real pixels (``bench/reference_bench.py``,
the pixel-forensics benchmark). Two sources:

* ``../shared/data/listings`` — 466 product photos; files sharing a product code (``mh02-black_main``,
  ``mh02-purple_back``) show the same product, so they give "other photo of the same item" negatives.
* Real camera photos from Debian packages (wallpapers, puzzle images, OpenCV and scikit-image sample data, a
  photo-album demo, Tux Paint's photo templates),
  fetched with ``apt-get download`` + ``dpkg -x`` into ``bench/.data/debian`` (no dependencies pulled, no root
  needed, idempotent: a package already unpacked is not fetched again).

Every photo gets a deterministic split (``tune`` / ``eval``) from a hash of its group (the product code for
listings, the file for Debian photos), so thresholds are tuned on one half of the products and quality is
measured on the other. ``python -m bench.datasets.photos`` fetches, lists the counts and exports the split to
``bench/.data/split.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

BENCH = Path(__file__).resolve().parents[1]
REPO = BENCH.parent
DATA = BENCH / ".data"
DEBIAN = DATA / "debian"
LISTINGS = (REPO.parent / "shared" / "data" / "listings").resolve()
SPLIT_FILE = DATA / "split.json"

Split = Literal["tune", "eval"]

#: Debian package -> glob patterns (relative to the unpacked root) of the real photographs it ships.
#: Chosen from contact sheets (see /work/shared/reference/offline-photos-and-cpu-baselines.md §1): renders,
#: abstract wallpapers, chessboards and text images are left out.
DEBIAN_PHOTOS: dict[str, tuple[str, ...]] = {
    "lomiri-wallpapers-16.04": ("usr/share/backgrounds/*_by_*.jpg",),
    "mate-backgrounds": ("usr/share/backgrounds/mate/nature/*.jpg",),
    "plasma-workspace-wallpapers": tuple(
        f"usr/share/wallpapers/{name}/contents/images/2560x1600.jpg"
        for name in (
            "BytheWater",
            "ColdRipple",
            "ColorfulCups",
            "DarkestHour",
            "EveningGlow",
            "FallenLeaf",
            "Grey",
            "Kite",
            "OneStandsOut",
            "Path",
            "summer_1am",
        )
    ),
    "palapeli-data": ("usr/share/palapeli/collection/*.jpg",),
    "kphotoalbum": ("usr/share/kphotoalbum/demo/*.jpg",),
    "puzzle-jigsaw": ("usr/share/puzzle-jigsaw/samples/*.jp*g",),
    "opencv-doc": tuple(
        f"usr/share/doc/opencv-doc/examples/data/{name}"
        for name in (
            "aero1.jpg",
            "aloeL.jpg",
            "apple.jpg",
            "baboon.jpg",
            "basketball1.png",
            "box_in_scene.png",
            "building.jpg",
            "butterfly.jpg",
            "fruits.jpg",
            "graf1.png",
            "home.jpg",
            "leuvenA.jpg",
            "messi5.jpg",
            "orange.jpg",
            "rubberwhale1.png",
            "starry_night.jpg",
            "stuff.jpg",
            "ela_original.jpg",
            "board.jpg",
            "left.jpg",
            "HappyFish.jpg",
            "squirrel_cls.jpg",
        )
    ),
    # Round 2 additions (appended so the order of the entries above is unchanged): more camera photos of
    # nature, textures and objects, the kind the pixels check's calibration had too few of.
    "tuxpaint-data": ("usr/share/tuxpaint/templates/*.jpg",),
    "python3-skimage": tuple(
        f"usr/lib/python3/dist-packages/skimage/data/{name}"
        for name in ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg")
    ),
    "lomiri-wallpapers-20.04": ("usr/share/backgrounds/Kleiber_by_*.jpg",),
}
#: Files matched above that are not photographs (a painting): excluded by name.
_NOT_PHOTOS = frozenset({"starry_night.jpg"})
_PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
_CODE = re.compile(r"^([a-z]{2,3}\d{2})[-_]")


@dataclass(frozen=True)
class Photo:
    """One real photograph on disk."""

    path: Path
    #: ``listing`` or ``debian:<package>``.
    source: str
    #: Photos in one group show the same object (listings: the product code; a Debian photo is its own group,
    #: ``package/file-or-wallpaper-name``); the tuning/evaluation split never separates a group.
    group: str
    split: Split

    @property
    def name(self) -> str:
        """Stable short id, unique across sources."""
        return self.path.stem if self.source == "listing" else self.group


def product_code(file_name: str) -> str:
    """The product a listing file shows: ``mh02-black_main.jpg`` -> ``mh02``; uncoded names keep their stem.

    ``luma-stability-ball-pink`` and ``luma-stability-ball`` stay separate groups: without a code we cannot
    tell a colour variant from another product, and a false "same product" would only make negatives easier.
    """
    stem = Path(file_name).stem
    match = _CODE.match(stem)
    return match.group(1) if match else stem


def split_of(group: str, eval_fraction: float = 0.5) -> Split:
    """Deterministic tuning/evaluation split by group (sha256, independent of Python's hash seed)."""
    bucket = int.from_bytes(hashlib.sha256(group.encode()).digest()[:4], "big") / 2**32
    return "eval" if bucket < eval_fraction else "tune"


def listing_photos(listings_dir: Path = LISTINGS) -> list[Photo]:
    """The merchant listing photos, sorted by file name."""
    if not listings_dir.is_dir():
        raise FileNotFoundError(f"listings not found: {listings_dir} (expected ../shared/data/listings)")
    out = []
    for path in sorted(listings_dir.iterdir()):
        if path.suffix.lower() in _PHOTO_SUFFIXES:
            group = product_code(path.name)
            out.append(Photo(path=path, source="listing", group=group, split=split_of(group)))
    return out


def _unpacked(package: str, root: Path) -> Path:
    """Unpack ``package`` under ``root/package`` once (apt-get download + dpkg -x); return that folder."""
    target = root / package
    marker = target / ".unpacked"
    if marker.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    downloads = root / "_debs"
    downloads.mkdir(parents=True, exist_ok=True)
    debs = sorted(downloads.glob(f"{package}_*.deb"))
    if not debs:
        subprocess.run(["apt-get", "download", package], cwd=downloads, check=True, capture_output=True)
        debs = sorted(downloads.glob(f"{package}_*.deb"))
    if not debs:
        raise FileNotFoundError(f"apt-get download {package} produced no .deb in {downloads}")
    subprocess.run(["dpkg", "-x", str(debs[-1]), str(target)], check=True, capture_output=True)
    marker.write_text(debs[-1].name + "\n", encoding="utf-8")
    debs[-1].unlink()  # the unpacked tree is all we keep; the .deb can be 90 MB
    return target


def fetch_debian(root: Path = DEBIAN, packages: Sequence[str] | None = None, *, strict: bool = False) -> list[str]:
    """Fetch and unpack the photo packages; return the ones that failed (``strict``: raise instead)."""
    failed = []
    for package in packages or list(DEBIAN_PHOTOS):
        try:
            _unpacked(package, root)
        except (subprocess.CalledProcessError, FileNotFoundError) as exc:
            if strict:
                raise
            detail = str(exc)
            if isinstance(exc, subprocess.CalledProcessError) and exc.stderr:
                detail = exc.stderr.decode(errors="replace").strip()
            print(f"photos: could not fetch {package}: {detail[-300:]}", file=sys.stderr)
            failed.append(package)
    return failed


def debian_photos(root: Path = DEBIAN, *, fetch: bool = True) -> list[Photo]:
    """The Debian camera photos (fetched first when ``fetch``), sorted; resolved symlinks, no duplicates."""
    if fetch:
        fetch_debian(root)
    out: list[Photo] = []
    seen: set[Path] = set()
    for package, patterns in DEBIAN_PHOTOS.items():
        base = root / package
        if not (base / ".unpacked").exists():
            continue
        for pattern in patterns:
            for path in sorted(base.glob(pattern)):
                real = path.resolve()
                if real in seen or not real.is_file() or path.name in _NOT_PHOTOS:
                    continue
                seen.add(real)
                group = f"{package}/{path.stem}" if "wallpapers/" not in pattern else f"{package}/{path.parts[-4]}"
                out.append(Photo(path=real, source=f"debian:{package}", group=group, split=split_of(group)))
    return out


def all_photos(*, fetch: bool = True) -> list[Photo]:
    """Listing photos followed by Debian photos."""
    return listing_photos() + debian_photos(fetch=fetch)


def export_split(photos: Sequence[Photo], path: Path = SPLIT_FILE) -> Path:
    """Write ``{"listing groups": {...}, "photos": {name: split}}`` for the engineers tuning checks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "rule": "sha256(group)[:4] as uint32 / 2**32 < 0.5 -> eval, else tune (bench/datasets/photos.py split_of)",
        "groups": {p.group: p.split for p in sorted(photos, key=lambda p: p.group)},
        "photos": {p.name: p.split for p in photos},
    }
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-fetch", action="store_true", help="use only what is already unpacked")
    args = parser.parse_args(argv)
    photos = all_photos(fetch=not args.no_fetch)
    by_source: dict[str, list[int]] = {}
    for photo in photos:
        counts = by_source.setdefault(photo.source, [0, 0])
        counts[0 if photo.split == "tune" else 1] += 1
    for source, (tune, evaluation) in sorted(by_source.items()):
        print(f"{source:40s} tune {tune:4d}  eval {evaluation:4d}")
    print(f"total {len(photos)} photos; split written to {export_split(photos)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
