"""Buyer credit: a time-decayed, explainable standing computed from decided outcomes (application layer).

Where it sits: when a reviewer decides a case (or an appeal), the case service records the outcome here
(:meth:`CreditService.record_outcome`, :meth:`CreditService.appeal`, :meth:`CreditService.correct`); the routing
policy reads :meth:`CreditService.credit` (per merchant, or platform-wide) as the "buyer standing" input and stores
the report with its decision.

Rules (DESIGN.md §7, issue 5 §7):
- Only outcomes decided by people count, never raw check scores: a photo the checks flagged but a reviewer
  upheld costs the buyer nothing.
- Only ``confirmed_forged`` lowers the score; its weight halves every ``half_life_days`` (90).
- Every report explains itself in words ("2 confirmed forged claims in 90 days").
- A successful appeal replaces the outcome (``overturned_on_appeal``); the score is recomputed from current
  records, and the replaced record stays in the history with the time it was superseded.
- Buyers are keyed by a pseudonym (:class:`BuyerPseudonymizer`, keyed HMAC with a platform key), so the
  platform-wide view can be shared with other merchants without revealing who the buyer is, and it carries
  only counts and the score, never other merchants' claims.
"""

from proofdesk.credit._credit import (
    BuyerPseudonymizer,
    CreditPolicy,
    CreditReport,
    CreditService,
    MemoryOutcomeStore,
    Outcome,
    OutcomeRecord,
    OutcomeStore,
    Standing,
    compute_credit,
)

__all__ = [
    "BuyerPseudonymizer",
    "CreditPolicy",
    "CreditReport",
    "CreditService",
    "MemoryOutcomeStore",
    "Outcome",
    "OutcomeRecord",
    "OutcomeStore",
    "Standing",
    "compute_credit",
]
