"""One exception tree for all of Proofdesk.

Library and application code raise these; only the edges translate them: ``proofdesk.cli.main`` maps them
to exit codes, ``proofdesk.api`` (error handlers) to HTTP status codes. Nothing in between calls ``abort``
or knows about HTTP.

::

    ProofdeskError                      every error we raise on purpose (exit 1 / HTTP 500 unless below)
    ├── UserInputError                  the caller asked for something wrong (exit 2 / HTTP 400)
    │   ├── EvidenceError               an evidence file cannot be accepted
    │   │   ├── UnsupportedFormat       not an image format we accept (HTTP 415)
    │   │   ├── CorruptEvidence         truncated or undecodable bytes (HTTP 422)
    │   │   └── EvidenceTooLarge        over the byte, pixel or metadata limit (HTTP 413)
    │   ├── InvalidSettings             a setting, policy file or check config does not validate
    │   ├── NotFound                    no such object, or not visible to the caller (HTTP 404)
    │   ├── Conflict                    duplicate submission or a concurrent change (HTTP 409)
    │   └── InvalidTransition           the state machine does not allow this step (HTTP 409)
    ├── PermissionDenied                authenticated but not allowed (HTTP 403)
    ├── NotAuthenticated                no or bad credentials (HTTP 401)
    ├── IntegrityError                  stored evidence or the audit chain does not verify (exit 1 / HTTP 500)
    ├── DependencyUnavailable           database, queue or blob store unreachable (exit 3 / HTTP 503)
    └── CheckFailed                     a check crashed on valid input: a bug, reported as a finding too

Every error carries a stable machine-readable ``code`` (snake_case) that the API returns as ``error.code``.
"""

from __future__ import annotations


class ProofdeskError(Exception):
    """Base of every error Proofdesk raises on purpose."""

    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class UserInputError(ProofdeskError):
    """The caller supplied something we cannot accept; retrying the same input fails again."""

    code = "bad_request"


class EvidenceError(UserInputError):
    """An evidence file cannot be accepted."""

    code = "bad_evidence"


class UnsupportedFormat(EvidenceError):
    """The bytes are not one of the image formats we accept."""

    code = "unsupported_format"


class CorruptEvidence(EvidenceError):
    """The file claims a supported format but is truncated or cannot be decoded."""

    code = "corrupt_evidence"


class EvidenceTooLarge(EvidenceError):
    """The file exceeds a byte, pixel or metadata limit (decompression-bomb guard)."""

    code = "evidence_too_large"


class InvalidSettings(UserInputError):
    """A setting, policy file or check configuration does not validate."""

    code = "invalid_settings"


class NotFound(UserInputError):
    """No such object, or the caller may not know it exists."""

    code = "not_found"


class Conflict(UserInputError):
    """Duplicate submission or concurrent modification."""

    code = "conflict"


class InvalidTransition(UserInputError):
    """The case or visit state machine does not allow the requested step."""

    code = "invalid_transition"


class PermissionDenied(ProofdeskError):
    """Authenticated, but the role or scope does not allow this."""

    code = "permission_denied"


class NotAuthenticated(ProofdeskError):
    """Missing or invalid credentials."""

    code = "not_authenticated"


class IntegrityError(ProofdeskError):
    """Stored evidence or the audit chain does not verify."""

    code = "integrity_error"


class DependencyUnavailable(ProofdeskError):
    """A required service (database, queue, object store) cannot be reached."""

    code = "dependency_unavailable"


class CheckFailed(ProofdeskError):
    """A check raised on input it should have handled; a bug, surfaced rather than swallowed."""

    code = "check_failed"
