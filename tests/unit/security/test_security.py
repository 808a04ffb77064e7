"""Tokens, roles, the personal-data cipher and masking."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from proofdesk import audit
from proofdesk.config import Settings
from proofdesk.db import make_engine, make_session_factory, migrate, session_scope
from proofdesk.errors import IntegrityError, InvalidSettings, NotAuthenticated, PermissionDenied, UserInputError
from proofdesk.security import (
    PersonalDataCipher,
    Principal,
    Role,
    authenticate,
    issue_token,
    mask_address,
    mask_email,
    mask_name,
    mask_phone,
    require,
    revoke_token,
)


def test_token_lifecycle(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, environment="test")
    migrate(settings)
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        issued = issue_token(session, Role.MERCHANT, "m1", name="shop owner")
    with session_scope(factory) as session:
        principal = authenticate(session, issued.token)
        assert principal == Principal(Role.MERCHANT, "m1", issued.principal.token_id, "shop owner")
        row_hash = session.execute(audit.AuditEvent.__table__.select()).first()
        assert row_hash is not None
        with pytest.raises(NotAuthenticated):
            authenticate(session, issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B"))
        with pytest.raises(NotAuthenticated):
            authenticate(session, "garbage")
    with session_scope(factory) as session:
        assert principal.token_id is not None
        revoke_token(session, principal.token_id, revoked_by="admin:a")
    with session_scope(factory) as session, pytest.raises(NotAuthenticated):
        authenticate(session, issued.token)
    with session_scope(factory) as session:
        assert [e.action for e in audit.events_for(session, "api_token", principal.token_id)] == [
            "token.issued",
            "token.revoked",
        ]
        # the secret is never stored: only its digest
        stored = session.get(__import__("proofdesk.security", fromlist=["ApiToken"]).ApiToken, principal.token_id)
        assert stored is not None and stored.token_hash not in issued.token
    engine.dispose()


def test_scoped_roles_need_a_subject(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, environment="test")
    migrate(settings)
    engine = make_engine(settings)
    with session_scope(make_session_factory(engine)) as session, pytest.raises(UserInputError):
        issue_token(session, Role.BUYER, None)
    engine.dispose()


def test_require() -> None:
    require(Principal(Role.REVIEWER, None), Role.REVIEWER)
    require(Principal(Role.ADMIN, None), Role.REVIEWER)
    with pytest.raises(PermissionDenied):
        require(Principal(Role.BUYER, "b1"), Role.REVIEWER, Role.MERCHANT)


def test_cipher_round_trip_and_tamper(tmp_path: Path) -> None:
    cipher = PersonalDataCipher.from_settings(Settings(data_dir=tmp_path, environment="test"))
    token = cipher.encrypt("13812345678")
    assert "13812345678" not in token
    assert cipher.decrypt(token) == "13812345678"
    with pytest.raises(IntegrityError):
        cipher.decrypt(token[:-4] + "AAAA")
    other = PersonalDataCipher(Fernet.generate_key())
    with pytest.raises(IntegrityError):
        other.decrypt(token)


def test_development_key_is_created_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, environment="development")
    first = PersonalDataCipher.from_settings(settings).encrypt("x")
    key_file = tmp_path / "secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert PersonalDataCipher.from_settings(settings).decrypt(first) == "x"


def test_configured_key_is_used_and_validated(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    settings = Settings(data_dir=tmp_path, environment="production", secret_key=SecretStr(key))
    assert PersonalDataCipher(key.encode()).decrypt(PersonalDataCipher.from_settings(settings).encrypt("y")) == "y"
    assert not (tmp_path / "secret.key").exists()
    with pytest.raises(InvalidSettings):
        PersonalDataCipher.from_settings(Settings(data_dir=tmp_path, secret_key=SecretStr("short")))


def test_masks() -> None:
    assert mask_phone("138-1234-5678") == "138****5678"
    assert mask_phone("12") == "**"
    assert mask_name("张三丰") == "张**"
    assert mask_name("Alice Smith") == "A**** S****"
    assert mask_address("湖北省黄石市黄石港区江北路12号") == "湖北省黄石市****"
    assert mask_email("alice@example.com") == "a****@example.com"
