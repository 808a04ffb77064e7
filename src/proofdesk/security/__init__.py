"""Who may do what, and how personal data is protected (application layer, DESIGN.md §7, issue 5 §9).

- :class:`Role` and :class:`Principal`: the caller as the services see it. A merchant principal's
  ``subject_id`` is its merchant id (it sees only its own shops' cases); a buyer's is the buyer id; a
  technician's the technician id. Reviewers, admins, dispatchers and agents are platform staff.
- API tokens (:func:`issue_token`, :func:`authenticate`, :func:`revoke_token`): ``pd_<id>_<secret>``; only the
  SHA-256 of the secret is stored, compared in constant time. Issuing and revoking write audit events.
- :class:`PersonalDataCipher`: Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) for contact data at
  rest. The key is ``settings.secret_key``; without one, outside production, a development key is generated
  once into ``data_dir/secret.key`` (mode 0600). ``config.Settings`` refuses production without a key.
- Masking (:func:`mask_phone`, :func:`mask_name`, :func:`mask_address`, :func:`mask_email`): what responses
  show by default; clear values are only returned by an explicit, audited access.
- :func:`require`: raise :class:`~proofdesk.errors.PermissionDenied` unless the principal has one of the roles.
"""

from __future__ import annotations

from proofdesk.security._cipher import PersonalDataCipher, load_or_create_key
from proofdesk.security._masking import mask_address, mask_email, mask_name, mask_phone
from proofdesk.security._models import ApiToken
from proofdesk.security._principal import STAFF_ROLES, Principal, Role, require
from proofdesk.security._tokens import IssuedToken, authenticate, issue_token, revoke_token

__all__ = [
    "STAFF_ROLES",
    "ApiToken",
    "IssuedToken",
    "PersonalDataCipher",
    "Principal",
    "Role",
    "authenticate",
    "issue_token",
    "load_or_create_key",
    "mask_address",
    "mask_email",
    "mask_name",
    "mask_phone",
    "require",
    "revoke_token",
]
