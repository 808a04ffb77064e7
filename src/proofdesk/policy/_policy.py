"""Implementation of :mod:`proofdesk.policy` (see its docstring)."""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from proofdesk.errors import InvalidSettings

Action = Literal["approve", "request_evidence", "review"]
Verdict = Literal["likely_genuine", "needs_review", "likely_forged"]
Standing = Literal["good", "new", "watch", "unknown", "poor"]

#: What the buyer can be asked for, with the default instruction shown to them.
EVIDENCE_ITEMS: Final[dict[str, str]] = {
    "another_angle": "Another photo of the item from a different angle, the whole item in frame.",
    "video": "A short video (10-30 s) turning the item around and showing the problem.",
    "label_in_frame": "A photo with the shipping label or order number visible next to the item.",
    "serial_number": "A close-up photo of the serial number or product label.",
    "packaging": "A photo of the outer packaging as it arrived.",
    "original_file": "The original photo file straight from the camera (not a screenshot or a forwarded copy).",
}

_DEFAULT_FILE: Final = Path(__file__).with_name("default_policy.toml")


class EvidenceRequest(BaseModel):
    """One item asked of the buyer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item: Literal["another_angle", "video", "label_in_frame", "serial_number", "packaging", "original_file"]
    text: str | None = Field(default=None, description="instruction shown to the buyer (default per item)")

    @property
    def instruction(self) -> str:
        """The text shown to the buyer."""
        return self.text or EVIDENCE_ITEMS[self.item]


class Conditions(BaseModel):
    """All given conditions must hold (an absent condition always holds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    verdicts: list[Verdict] | None = None
    min_risk: float | None = Field(default=None, ge=0, le=1)
    max_risk: float | None = Field(default=None, ge=0, le=1)
    min_amount_cents: int | None = Field(default=None, ge=0)
    max_amount_cents: int | None = Field(default=None, ge=0)
    claim_types: list[Literal["refund_only", "return_refund", "exchange", "repair"]] | None = None
    categories: list[str] | None = None
    reasons: list[str] | None = None
    buyer_standing: list[Standing] | None = None
    #: Holds when the claim has fewer photos than this.
    fewer_photos_than: int | None = Field(default=None, ge=1)
    #: Holds when the claim has no video.
    no_video: bool | None = None
    #: Holds when any finding has one of these ``check:label`` values (e.g. ``provenance:ai_generated``).
    labels_any: list[str] | None = None

    def is_empty(self) -> bool:
        """True when no condition is set (the rule matches everything)."""
        return all(value is None for value in self.model_dump().values())


class Rule(BaseModel):
    """One rule: conditions and the action they lead to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")
    action: Action
    when: Conditions = Field(default_factory=Conditions)
    request: list[EvidenceRequest] = Field(default_factory=list)
    explain: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.action == "request_evidence" and not self.request:
            raise ValueError(f"rule {self.id}: request_evidence must name what to ask for (request = [...])")
        if self.action != "request_evidence" and self.request:
            raise ValueError(f"rule {self.id}: only request_evidence rules take a request list")
        if self.action == "approve" and (self.when.verdicts != ["likely_genuine"] or self.when.max_risk is None):
            raise ValueError(
                f"rule {self.id}: approve rules must require verdicts = ['likely_genuine'] and set max_risk"
            )
        return self


class Policy(BaseModel):
    """A versioned, validated list of rules; the first match decides."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1, max_length=50)
    description: str = ""
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _safe(self) -> Policy:
        ids = [rule.id for rule in self.rules]
        if len(ids) != len(set(ids)):
            raise ValueError("rule ids must be unique")
        last = self.rules[-1]
        if last.action != "review" or not last.when.is_empty():
            raise ValueError("the last rule must be an unconditional review (every claim must land somewhere)")
        return self

    def route(self, facts: RoutingInput, *, skip_rules: Collection[str] = ()) -> RoutingOutcome:
        """The first matching rule's outcome. ``skip_rules``: request rules that already fired for this case."""
        for rule in self.rules:
            if rule.id in skip_rules and rule.action == "request_evidence":
                continue  # ask for the same thing at most once, then let a person look
            if _matches(rule.when, facts):
                return RoutingOutcome(
                    action=rule.action,
                    rule=rule.id,
                    policy_version=self.version,
                    requests=tuple(rule.request),
                    explanation=rule.explain or f"rule {rule.id} matched",
                )
        raise AssertionError("unreachable: validation guarantees a catch-all last rule")


@dataclass(frozen=True)
class RoutingInput:
    """The facts a policy looks at (from the case, the reports and the buyer's credit)."""

    verdict: str
    risk: float
    amount_cents: int
    claim_type: str
    category: str
    reason: str
    buyer_standing: str = "unknown"
    photos: int = 0
    videos: int = 0
    labels: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class RoutingOutcome:
    """What to do and why."""

    action: Action
    rule: str
    policy_version: str
    explanation: str
    requests: tuple[EvidenceRequest, ...] = ()


def _in(allowed: list[str] | list[Verdict] | list[Standing] | None, value: str) -> bool:
    return allowed is None or value in allowed


def _matches(when: Conditions, facts: RoutingInput) -> bool:
    checks = (
        _in(when.verdicts, facts.verdict),
        when.min_risk is None or facts.risk >= when.min_risk,
        when.max_risk is None or facts.risk <= when.max_risk,
        when.min_amount_cents is None or facts.amount_cents >= when.min_amount_cents,
        when.max_amount_cents is None or facts.amount_cents <= when.max_amount_cents,
        _in(when.claim_types, facts.claim_type),  # type: ignore[arg-type]
        _in(when.categories, facts.category),
        _in(when.reasons, facts.reason),
        _in(when.buyer_standing, facts.buyer_standing),
        when.fewer_photos_than is None or facts.photos < when.fewer_photos_than,
        when.no_video is None or (facts.videos == 0) == when.no_video,
        when.labels_any is None or bool(facts.labels.intersection(when.labels_any)),
    )
    return all(checks)


def load_policy(path: Path | str) -> Policy:
    """Read and validate a policy file; InvalidSettings naming the problem otherwise."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidSettings(f"cannot read policy file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidSettings(f"policy file {path} is not valid TOML: {exc}") from exc
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise InvalidSettings(f"policy file {path} does not validate: {exc}") from exc


@cache
def default_policy() -> Policy:
    """The built-in policy."""
    return load_policy(_DEFAULT_FILE)
