"""Reuse banks on real listing photos: found across buyers after re-encode/resize, negative bank, misses."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from proofdesk.banks import BankEntry, BankSource, MemoryBankStore, NegativeEntry, ReuseBanks
from proofdesk.errors import IntegrityError, UserInputError
from proofdesk.evidence import Evidence, read_evidence


def _jpeg(rgb: np.ndarray, quality: int) -> Evidence:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="JPEG", quality=quality)
    return read_evidence(buffer.getvalue(), name="claim.jpg")


def _photos(listings_dir: Path, n: int) -> list[Path]:
    # One photo per product code: colour variants of one product hash alike (see the reuse README).
    first: dict[str, Path] = {}
    for path in sorted(listings_dir.glob("*.jpg")):
        first.setdefault(path.name.split("-")[0].split("_")[0], path)
    return list(first.values())[:n]


@pytest.fixture(params=["faiss_flat", "bruteforce"])
def banks(request: pytest.FixtureRequest) -> ReuseBanks:
    return ReuseBanks(MemoryBankStore(), index_kind=request.param)


def test_same_photo_reencoded_and_resized_is_found_across_buyers(banks: ReuseBanks, listings_dir: Path) -> None:
    photos = _photos(listings_dir, 6)
    for i, path in enumerate(photos):
        banks.add_claim_photo(read_evidence(path), claim_id=f"claim-{i}", buyer=f"buyer-{i}", merchant_id="m1")
    original = np.array(read_evidence(photos[2]).reduced(1024))
    half = cv2.resize(original, (original.shape[1] // 2, original.shape[0] // 2), interpolation=cv2.INTER_AREA)
    claim = _jpeg(half, quality=70)

    hits = banks.for_claim(claim_id="new", buyer="buyer-9", merchant_id="m2").lookup(claim, max_distance=31)
    assert [h.ref for h in hits] == ["claim-2"]
    hit = hits[0]
    assert hit.source == "claim" and hit.same_buyer is False and hit.same_merchant is False
    assert hit.distance <= 20 and not hit.suppressed and hit.transform == "original"

    same_buyer = banks.for_claim(claim_id="new", buyer="buyer-2", merchant_id="m1").lookup(claim, max_distance=31)
    assert same_buyer[0].same_buyer is True and same_buyer[0].same_merchant is True


def test_photo_of_the_claim_itself_is_not_a_hit(banks: ReuseBanks, listings_dir: Path) -> None:
    evidence = read_evidence(_photos(listings_dir, 1)[0])
    banks.add_claim_photo(evidence, claim_id="c1", buyer="b1", merchant_id="m1")
    assert banks.for_claim(claim_id="c1", buyer="b1", merchant_id="m1").lookup(evidence, max_distance=31) == []
    assert len(banks.for_claim(claim_id="c2", buyer="b1", merchant_id="m1").lookup(evidence, max_distance=31)) == 1


def test_different_photo_is_not_found(banks: ReuseBanks, listings_dir: Path) -> None:
    photos = _photos(listings_dir, 12)
    for i, path in enumerate(photos[:10]):
        banks.add_listing_photo(read_evidence(path), listing_image_id=f"img-{i}", merchant_id="m1")
    for path in photos[10:]:
        claim = _jpeg(np.array(read_evidence(path).reduced(1024)), quality=80)
        assert banks.for_claim(claim_id="x", buyer="b", merchant_id="m1").lookup(claim, max_distance=31) == []


def test_rotated_and_mirrored_copies_are_found_with_the_transform(banks: ReuseBanks, listings_dir: Path) -> None:
    # Rotated copies of non-square photos move 4-34 bits (median 12 on 32 listing photos, measured for the
    # README): PDQ's dihedral hashes are exact only for square inputs. These three are typical, not chosen.
    path = _photos(listings_dir, 4)[1]
    banks.add_listing_photo(read_evidence(path), listing_image_id="img-1", merchant_id="m1")
    rgb = np.array(read_evidence(path).reduced(1024))
    # "transform" names the variant of the claim that matched: undoing a 90° counter-clockwise turn is rotate270.
    for array, name in ((np.rot90(rgb), "rotate270"), (np.rot90(rgb, 2), "rotate180"), (rgb[:, ::-1], "flip_y")):
        hits = banks.for_claim(claim_id="c", buyer="b", merchant_id="m2").lookup(_jpeg(array, 85), max_distance=31)
        assert [h.ref for h in hits] == ["img-1"], name
        assert hits[0].transform == name
        assert hits[0].source == "listing" and hits[0].same_merchant is False
    banks.dihedral = False
    hits = banks.for_claim(claim_id="c", buyer="b", merchant_id="m2").lookup(_jpeg(np.rot90(rgb), 85), max_distance=31)
    assert hits == []


def test_negative_bank_suppresses_but_keeps_the_hit(banks: ReuseBanks, listings_dir: Path) -> None:
    stock, other = (read_evidence(p) for p in _photos(listings_dir, 2))
    banks.add_claim_photo(stock, claim_id="c1", buyer="b1", merchant_id="m1")
    banks.add_claim_photo(other, claim_id="c2", buyer="b2", merchant_id="m1")
    banks.add_negative(stock, label="supplier stock photo", added_by="reviewer:r1")
    claim_stock = _jpeg(np.array(stock.reduced(1024)), quality=75)
    hits = banks.for_claim(claim_id="c9", buyer="b9", merchant_id="m1").lookup(claim_stock, max_distance=31)
    assert len(hits) == 1 and hits[0].suppressed and hits[0].suppressed_by == "supplier stock photo"
    claim_other = _jpeg(np.array(other.reduced(1024)), quality=75)
    hits = banks.for_claim(claim_id="c9", buyer="b9", merchant_id="m1").lookup(claim_other, max_distance=31)
    assert len(hits) == 1 and not hits[0].suppressed


def test_flat_photo_is_neither_banked_nor_matched(banks: ReuseBanks) -> None:
    flat = _jpeg(np.full((300, 300, 3), 200, dtype=np.uint8), quality=90)
    assert banks.add_claim_photo(flat, claim_id="c1", buyer="b1", merchant_id="m1") is None
    assert banks.for_claim(claim_id="c2", buyer="b2", merchant_id="m1").lookup(flat, max_distance=31) == []


def test_second_process_sees_rows_banked_by_the_first(listings_dir: Path) -> None:
    store = MemoryBankStore()
    writer, reader = ReuseBanks(store), ReuseBanks(store, refresh_batch=2)
    photos = [read_evidence(p) for p in _photos(listings_dir, 5)]
    assert reader.refresh() == 0
    for i, evidence in enumerate(photos):
        writer.add_claim_photo(evidence, claim_id=f"c{i}", buyer="b", merchant_id="m")
    hits = reader.for_claim(claim_id=None, buyer=None, merchant_id=None).lookup(photos[4], max_distance=0)
    assert [h.ref for h in hits] == ["c4"] and hits[0].same_buyer is None and hits[0].same_merchant is None
    assert len(reader) == 5 and reader.refresh() == 0


def test_entries_validate() -> None:
    with pytest.raises(UserInputError):
        BankEntry(BankSource.CLAIM, "c1", bytes(32), 100, "m1")  # a claim photo needs its buyer pseudonym
    with pytest.raises(UserInputError):
        BankEntry(BankSource.LISTING, "i1", bytes(31), 100, "m1")
    with pytest.raises(UserInputError):
        NegativeEntry(bytes(32), "  ")


def test_auto_index_switches_to_ivf_past_the_threshold(listings_dir: Path) -> None:
    store = MemoryBankStore()
    banks = ReuseBanks(store, ivf_threshold=300, ivf_params={"nlist": 8, "nprobe": 8}, refresh_batch=100)
    rng = np.random.default_rng(1)
    store.add_entries([BankEntry(BankSource.LISTING, f"syn-{i}", rng.bytes(32), 100, "m-syn") for i in range(320)])
    photo = read_evidence(_photos(listings_dir, 1)[0])
    banks.add_listing_photo(photo, listing_image_id="img-real", merchant_id="m1")
    assert banks.refresh() == 321 and banks.index_kind == "faiss_ivf"
    hits = banks.for_claim(claim_id="c", buyer="b", merchant_id="m2").lookup(photo, max_distance=31)
    assert [h.ref for h in hits] == ["img-real"]
    assert ReuseBanks(MemoryBankStore()).index_kind == "faiss_flat"


def test_snapshot_restarts_without_rereading_the_store(listings_dir: Path, tmp_path: Path) -> None:
    store = MemoryBankStore()
    first = ReuseBanks(store)
    photos = [read_evidence(p) for p in _photos(listings_dir, 3)]
    for i, evidence in enumerate(photos[:2]):
        first.add_claim_photo(evidence, claim_id=f"c{i}", buyer="b", merchant_id="m")
    first.refresh()
    first.save_snapshot(tmp_path / "bank.npz")
    first.add_claim_photo(photos[2], claim_id="c2", buyer="b", merchant_id="m")  # after the snapshot

    restarted = ReuseBanks(store)
    restarted.load_snapshot(tmp_path / "bank.npz")
    assert len(restarted) == 2
    assert restarted.refresh() == 1  # only the row written after the snapshot is read
    view = restarted.for_claim(claim_id="x", buyer="b2", merchant_id="m")
    assert [[h.ref for h in view.lookup(p, max_distance=0)] for p in photos] == [["c0"], ["c1"], ["c2"]]

    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(IntegrityError):
        restarted.load_snapshot(tmp_path / "bad.npz")
    assert len(restarted) == 3  # a refused snapshot leaves the bank as it was
