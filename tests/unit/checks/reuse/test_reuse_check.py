"""The reuse check: labels from real bank lookups, suppression, no bank, configuration."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from proofdesk.banks import MemoryBankStore, ReuseBanks
from proofdesk.checks.base import CheckContext
from proofdesk.checks.registry import BUILTIN_CHECKS
from proofdesk.checks.reuse import LABEL_SCORES, ReuseCheck
from proofdesk.errors import InvalidSettings
from proofdesk.evidence import Evidence, read_evidence


def _jpeg(evidence: Evidence, quality: int = 75) -> Evidence:
    buffer = io.BytesIO()
    Image.fromarray(np.array(evidence.reduced(800))).save(buffer, format="JPEG", quality=quality)
    return read_evidence(buffer.getvalue(), name="claim.jpg")


@pytest.fixture
def setup(listings_dir: Path) -> tuple[ReuseBanks, list[Evidence]]:
    first: dict[str, Path] = {}
    for path in sorted(listings_dir.glob("*.jpg")):
        first.setdefault(path.name.split("-")[0].split("_")[0], path)
    photos = [read_evidence(p) for p in list(first.values())[:5]]
    banks = ReuseBanks(MemoryBankStore())
    banks.add_claim_photo(photos[0], claim_id="c-old", buyer="buyer-a", merchant_id="shop-1")
    banks.add_listing_photo(photos[1], listing_image_id="img-own", merchant_id="shop-1")
    banks.add_listing_photo(photos[2], listing_image_id="img-other", merchant_id="shop-2")
    banks.add_claim_photo(photos[3], claim_id="c-stock", buyer="buyer-c", merchant_id="shop-3")
    banks.add_negative(photos[3], label="manufacturer stock photo", added_by="reviewer:r1")
    return banks, photos


def _run(banks: ReuseBanks, claim: Evidence, buyer: str) -> object:
    context = CheckContext(hash_bank=banks.for_claim(claim_id="c-new", buyer=buyer, merchant_id="shop-1"))
    return ReuseCheck.from_config({}).run(claim, context)


@pytest.mark.parametrize(
    ("photo", "buyer", "label"),
    [
        (0, "buyer-b", "reused_other_buyer"),
        (0, "buyer-a", "reused_same_buyer"),
        (1, "buyer-b", "matches_own_listing"),
        (2, "buyer-b", "matches_listing_other_merchant"),
        (3, "buyer-b", "suppressed"),
        (4, "buyer-b", "none"),
    ],
)
def test_labels(setup, photo: int, buyer: str, label: str) -> None:  # type: ignore[no-untyped-def]
    banks, photos = setup
    finding = _run(banks, _jpeg(photos[photo]), buyer)
    assert finding.label == label
    expected = LABEL_SCORES[label]
    assert finding.score in (expected, round(expected * 0.8, 4))
    if label in ("none", "suppressed"):
        assert finding.score == 0.0
    else:
        assert finding.score >= 0.48 and finding.measurements["distance"] <= 31
        assert finding.reference in ("c-old", "img-own", "img-other")
        assert "PDQ distance" in finding.summary
    json = finding.to_json()
    assert json["check"] == "reuse" and json["details"]["pdq"] and len(json["details"]["pdq"]) == 64


def test_suppressed_hit_is_listed(setup) -> None:  # type: ignore[no-untyped-def]
    banks, photos = setup
    finding = _run(banks, _jpeg(photos[3]), "buyer-b")
    assert finding.measurements["suppressed_hits"] == 1 and finding.measurements["hits"] == 0
    [hit] = finding.details["hits"]
    assert hit["suppressed"] and hit["suppressed_by"] == "manufacturer stock photo" and hit["ref"] == "c-stock"
    assert "manufacturer stock photo" in finding.summary


def test_no_bank(listings_dir: Path) -> None:
    claim = read_evidence(next(iter(sorted(listings_dir.glob("*.jpg")))))
    finding = ReuseCheck.from_config({}).run(claim, CheckContext())
    assert finding.label == "no_bank" and finding.score == 0.0


def test_config_validation() -> None:
    assert ReuseCheck.from_config({"max_distance": 20, "near_distance": 10}).max_distance == 20
    bad_configs = ({"max_distance": 300}, {"near_distance": 40}, {"far_factor": 2}, {"unknown": 1})
    for bad in (*bad_configs, {"max_distance": True}):
        with pytest.raises(InvalidSettings):
            ReuseCheck.from_config(bad)


def test_registered() -> None:
    assert "proofdesk.checks.reuse:ReuseCheck" in BUILTIN_CHECKS
