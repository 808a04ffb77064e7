"""Reason codes for reviewer decisions: stable codes for machines, plain sentences for the buyer."""

from __future__ import annotations

from typing import Final

APPROVE_REASONS: Final[dict[str, str]] = {
    "evidence_consistent": "Your photos are consistent with the order and show the problem you reported.",
    "merchant_accepted": "The merchant accepted the claim.",
    "merchant_no_response": "The merchant did not answer in time and your evidence supports the claim.",
    "appeal_new_evidence": "The new evidence you sent with your appeal supports the claim.",
    "goodwill": "Approved as a goodwill gesture.",
}

DENY_REASONS: Final[dict[str, str]] = {
    "evidence_altered": "A photo you sent was changed from an earlier image (for example the shop's own photo).",
    "photo_reused": "A photo you sent was already used in another claim or listing.",
    "ai_generated": "A photo you sent was generated or edited by an AI tool.",
    "not_the_item": "The photos do not show the item from this order.",
    "damage_not_shown": "The photos do not show the problem described.",
    "shipped_intact": "The merchant's packing evidence shows the item was shipped intact.",
    "insufficient_evidence": "The evidence is not enough to decide in your favour.",
}


def reason_text(outcome: str, code: str) -> str:
    """The sentence shown to the buyer for a decision."""
    table = APPROVE_REASONS if outcome == "approve" else DENY_REASONS
    return table.get(code, code)
