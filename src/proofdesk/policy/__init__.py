"""The routing policy: what happens to a checked claim (application layer, issue 5 §3).

A policy is a versioned TOML file of ordered rules; the first rule whose conditions all hold decides one of
three actions: ``approve`` (automatic approval), ``request_evidence`` (ask the buyer for exactly named
items: another angle, a video, the label in frame, ...) or ``review`` (open the merchant response window,
then a person decides). There is no ``deny`` action: the schema refuses it, so nothing is ever denied
automatically. Validation also refuses a policy whose last rule is not an unconditional ``review``
(every claim must land somewhere safe) and ``approve`` rules that could fire on anything but a
``likely_genuine`` verdict below a risk ceiling.

The decision (:class:`RoutingOutcome`) names the policy version, the rule id and a one-line explanation;
the case service stores it with the report ids it was based on.

The built-in policy is ``default_policy.toml`` beside this module; ``load_policy(path)`` reads another one.
"""

from __future__ import annotations

from proofdesk.policy._policy import (
    EVIDENCE_ITEMS,
    EvidenceRequest,
    Policy,
    RoutingInput,
    RoutingOutcome,
    Rule,
    default_policy,
    load_policy,
)

__all__ = [
    "EVIDENCE_ITEMS",
    "EvidenceRequest",
    "Policy",
    "RoutingInput",
    "RoutingOutcome",
    "Rule",
    "default_policy",
    "load_policy",
]
