"""The routing policy: validation refuses unsafe policies; the first matching rule decides."""

from __future__ import annotations

from pathlib import Path

import pytest

from proofdesk.errors import InvalidSettings
from proofdesk.policy import RoutingInput, default_policy, load_policy

_TAIL = '[[rules]]\nid = "review"\naction = "review"\n'


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text('version = "t1"\n' + body, encoding="utf-8")
    return path


def _facts(**kw: object) -> RoutingInput:
    base: dict[str, object] = {
        "verdict": "likely_genuine",
        "risk": 0.05,
        "amount_cents": 5000,
        "claim_type": "refund_only",
        "category": "home",
        "reason": "damaged",
        "buyer_standing": "good",
        "photos": 2,
        "videos": 0,
    }
    base.update(kw)
    return RoutingInput(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('[[rules]]\nid = "d"\naction = "deny"\n' + _TAIL, "action"),
        ('[[rules]]\nid = "a"\naction = "approve"\nwhen = { max_risk = 0.2 }\n' + _TAIL, "likely_genuine"),
        (
            '[[rules]]\nid = "a"\naction = "approve"\nwhen = { verdicts = ["needs_review"], max_risk = 0.5 }\n' + _TAIL,
            "likely_genuine",
        ),
        ('[[rules]]\nid = "r"\naction = "request_evidence"\n' + _TAIL, "request"),
        ('[[rules]]\nid = "r"\naction = "review"\nwhen = { max_risk = 0.5 }\n', "last rule"),
        ('[[rules]]\nid = "r"\naction = "request_evidence"\nrequest = [{ item = "selfie" }]\n' + _TAIL, "item"),
        (_TAIL + _TAIL, "unique"),
        ('[[rules]]\nid = "x"\naction = "review"\nwhen = { colour = "red" }\n' + _TAIL, "colour"),
    ],
)
def test_unsafe_or_malformed_policies_are_refused(tmp_path: Path, body: str, problem: str) -> None:
    with pytest.raises(InvalidSettings, match=problem):
        load_policy(_write(tmp_path, body))


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidSettings, match="TOML"):
        load_policy(_write(tmp_path, "rules = [[["))
    with pytest.raises(InvalidSettings, match="cannot read"):
        load_policy(tmp_path / "absent.toml")


def test_default_policy_routes() -> None:
    policy = default_policy()
    approve = policy.route(_facts())
    assert (approve.action, approve.rule) == ("approve", "approve-clean-low-value")
    assert policy.route(_facts(amount_cents=50000)).action == "request_evidence"  # damage, no video, > 100.00
    assert policy.route(_facts(amount_cents=50000, videos=1)).action == "review"
    assert policy.route(_facts(buyer_standing="poor")).action == "review"
    forged = policy.route(_facts(verdict="likely_forged", risk=0.98))
    assert forged.action == "review", "never denied automatically"
    ai = policy.route(_facts(verdict="likely_forged", risk=0.9, labels=frozenset({"provenance:ai_generated"})))
    assert ai.action == "request_evidence" and [r.item for r in ai.requests] == ["original_file", "another_angle"]
    assert ai.requests[0].instruction.startswith("The original photo file")
    # a request rule fires once per case; after that a person looks
    again = policy.route(
        _facts(verdict="likely_forged", risk=0.9, labels=frozenset({"provenance:ai_generated"})),
        skip_rules={"ask-original-for-ai-label"},
    )
    assert again.action == "review"
    assert approve.policy_version == policy.version
