"""The ``pixels`` check: no-reference forensics (local edits, recapture, synthetic). See README.md here."""

from proofdesk.checks.pixels._check import (
    CUES,
    FIRE_AT,
    LOCAL_CUES,
    CueAnalysis,
    PixelsCheck,
    analyze,
    load_calibration,
)

__all__ = ["CUES", "FIRE_AT", "LOCAL_CUES", "CueAnalysis", "PixelsCheck", "analyze", "load_calibration"]
