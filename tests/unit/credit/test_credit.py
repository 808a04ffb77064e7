"""Buyer credit: decay, explanation text, appeal correction with history, pseudonyms, scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from proofdesk.credit import (
    BuyerPseudonymizer,
    CreditPolicy,
    CreditService,
    MemoryOutcomeStore,
    Outcome,
    Standing,
)
from proofdesk.errors import Conflict, InvalidSettings, InvalidTransition, NotFound, UserInputError

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def service() -> CreditService:
    return CreditService(MemoryOutcomeStore(), clock=lambda: NOW)


def _forged(service: CreditService, claim: str, days_ago: float, *, buyer: str = "bp_a", merchant: str = "m1") -> None:
    service.record_outcome(
        claim_id=claim,
        buyer=buyer,
        merchant_id=merchant,
        outcome=Outcome.CONFIRMED_FORGED,
        actor="reviewer:r1",
        decided_at=NOW - timedelta(days=days_ago),
        reason_code="edited_photo",
    )


def test_clean_buyer_is_good(service: CreditService) -> None:
    report = service.credit("bp_nobody")
    assert report.score == 100 and report.standing is Standing.GOOD
    assert report.explanation == ("no confirmed forged claims",)


def test_two_recent_forged_claims_are_explained(service: CreditService) -> None:
    _forged(service, "c1", 10)
    _forged(service, "c2", 40)
    service.record_outcome(claim_id="c3", buyer="bp_a", merchant_id="m1", outcome=Outcome.UPHELD, actor="reviewer:r1")
    report = service.credit("bp_a", merchant_id="m1")
    assert report.forged_in_window == 2 and report.upheld_total == 1
    assert report.explanation[0] == "2 confirmed forged claims in 90 days"
    assert "1 claim upheld as genuine" in report.explanation
    expected = 100 - 35 * (0.5 ** (10 / 90) + 0.5 ** (40 / 90))
    assert report.score == pytest.approx(expected)
    assert report.standing is Standing.POOR  # ~42 < 50
    assert report.to_json()["scope"] == "merchant:m1"


def test_weight_decays_with_age(service: CreditService) -> None:
    _forged(service, "c1", 0)
    fresh = service.credit("bp_a")
    assert fresh.score == pytest.approx(65) and fresh.standing is Standing.WATCH
    half = service.credit("bp_a", at=NOW + timedelta(days=90))
    assert half.score == pytest.approx(100 - 35 / 2)
    assert half.standing is Standing.GOOD
    assert half.forged_in_window == 1  # 90 days exactly is still inside the window
    later = service.credit("bp_a", at=NOW + timedelta(days=400))
    assert later.forged_in_window == 0 and later.score > 98
    assert later.explanation[0].startswith("1 older confirmed forged claim")
    before = service.credit("bp_a", at=NOW - timedelta(days=1))  # outcomes decided later are ignored
    assert before.score == 100


def test_successful_appeal_replaces_outcome_and_keeps_history(service: CreditService) -> None:
    _forged(service, "c1", 5)
    _forged(service, "c2", 5)
    assert service.credit("bp_a").forged_total == 2
    new = service.appeal(claim_id="c1", overturned=True, actor="reviewer:r2", reason_code="new_evidence")
    assert new.outcome is Outcome.OVERTURNED_ON_APPEAL
    report = service.credit("bp_a")
    assert report.forged_total == 1 and report.overturned_total == 1
    assert "1 decision overturned on appeal (not counted against the buyer)" in report.explanation
    assert report.score == pytest.approx(100 - 35 * 0.5 ** (5 / 90))
    history = service.history("c1")
    assert [r.outcome for r in history] == [Outcome.CONFIRMED_FORGED, Outcome.OVERTURNED_ON_APPEAL]
    assert history[0].superseded_at is not None and history[1].supersedes == history[0].id
    with pytest.raises(InvalidTransition):  # nothing adverse left to appeal
        service.appeal(claim_id="c1", overturned=True, actor="reviewer:r3")


def test_failed_appeal_changes_nothing(service: CreditService) -> None:
    _forged(service, "c1", 5)
    before = service.credit("bp_a")
    service.appeal(claim_id="c1", overturned=False, actor="reviewer:r2")
    assert service.credit("bp_a") == before and len(service.history("c1")) == 1


def test_scopes_merchant_and_platform(service: CreditService) -> None:
    _forged(service, "c1", 5, merchant="m1")
    _forged(service, "c2", 5, merchant="m2")
    assert service.credit("bp_a", merchant_id="m1").forged_total == 1
    assert service.credit("bp_a", merchant_id="m3").forged_total == 0
    platform = service.credit("bp_a")
    assert platform.forged_total == 2 and platform.scope == "platform"
    assert "c1" not in str(platform.to_json()) and "m2" not in str(platform.to_json())  # counts only


def test_invalid_operations(service: CreditService) -> None:
    _forged(service, "c1", 1)
    with pytest.raises(Conflict):
        _forged(service, "c1", 1)
    with pytest.raises(NotFound):
        service.appeal(claim_id="nope", overturned=True, actor="r")
    with pytest.raises(UserInputError):
        service.record_outcome(
            claim_id="c9", buyer="bp_a", merchant_id="m1", outcome=Outcome.OVERTURNED_ON_APPEAL, actor="r"
        )
    with pytest.raises(UserInputError):
        service.record_outcome(
            claim_id="c9",
            buyer="bp_a",
            merchant_id="m1",
            outcome=Outcome.UPHELD,
            actor="r",
            decided_at=datetime(2026, 1, 1),  # naive
        )
    with pytest.raises(InvalidSettings):
        CreditPolicy(half_life_days=0)
    with pytest.raises(InvalidSettings):
        CreditPolicy(good_min=40, watch_min=60)


def test_correction_to_declined_other_removes_the_penalty(service: CreditService) -> None:
    _forged(service, "c1", 1)
    service.correct(claim_id="c1", outcome=Outcome.DECLINED_OTHER, actor="admin:a1", reason_code="buyer_dispute")
    assert service.credit("bp_a").score == 100


def test_pseudonyms_are_keyed_and_stable() -> None:
    a = BuyerPseudonymizer(b"k" * 32)
    b = BuyerPseudonymizer(b"other-platform-key-0123456789")
    assert a.pseudonym("buyer-42") == a.pseudonym("buyer-42")
    assert a.pseudonym("buyer-42") != a.pseudonym("buyer-43")
    assert a.pseudonym("buyer-42") != b.pseudonym("buyer-42")
    assert a.pseudonym("buyer-42").startswith("bp_") and len(a.pseudonym("buyer-42")) == 35
    assert "buyer-42" not in a.pseudonym("buyer-42")
    assert BuyerPseudonymizer.from_secret("s" * 20).pseudonym("x") == BuyerPseudonymizer(b"s" * 20).pseudonym("x")
    with pytest.raises(InvalidSettings):
        BuyerPseudonymizer(b"short")
    with pytest.raises(UserInputError):
        a.pseudonym("")
