"""Encryption of personal data at rest."""

from __future__ import annotations

import os
import time
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from proofdesk.config import Settings
from proofdesk.errors import IntegrityError, InvalidSettings

_DEV_KEY_FILE = "secret.key"


def load_or_create_key(settings: Settings) -> bytes:
    """The Fernet key: ``settings.secret_key``, else (not in production) a development key in ``data_dir``."""
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value().encode("ascii")
    elif settings.environment == "production":
        raise InvalidSettings("production needs PROOFDESK_SECRET_KEY")
    else:
        path = Path(settings.data_dir) / _DEV_KEY_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: when several processes start together exactly one creates the key, the rest read it.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = b""
            for _ in range(100):  # the creator may still be writing it
                key = path.read_bytes().strip()
                if key:
                    break
                time.sleep(0.01)
        else:
            key = Fernet.generate_key()
            with os.fdopen(fd, "wb") as handle:
                handle.write(key + b"\n")
    try:
        Fernet(key)
    except (ValueError, TypeError) as exc:
        raise InvalidSettings("secret_key must be a Fernet key (32 bytes, urlsafe base64)") from exc
    return key


class PersonalDataCipher:
    """Encrypts and decrypts short personal-data strings (phone, name, address, e-mail)."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> PersonalDataCipher:
        """The cipher for these settings (see :func:`load_or_create_key`)."""
        return cls(load_or_create_key(settings))

    def encrypt(self, value: str) -> str:
        """Ciphertext as ASCII text (safe for a String/Text column)."""
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The clear value; IntegrityError if the ciphertext was altered or the key is wrong."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise IntegrityError("personal data does not decrypt: wrong key or altered ciphertext") from exc
