"""Evidence reading: untrusted bytes -> :class:`Evidence` (decoded, oriented, with raw metadata).

First step of every flow: a claim photo, a listing photo or a packing-video frame enters here. Everything
after this sees pixels in display orientation (EXIF orientation applied) and the metadata blocks as raw
bytes; parsing those blocks is the provenance and metadata checks' job.
"""

from proofdesk.evidence._reader import (
    ACCEPTED_FORMATS,
    Evidence,
    RawMetadata,
    evidence_from_array,
    read_evidence,
    sniff_format,
)

__all__ = ["ACCEPTED_FORMATS", "Evidence", "RawMetadata", "evidence_from_array", "read_evidence", "sniff_format"]
