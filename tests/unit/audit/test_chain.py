"""The audit hash chain: appends link up; any edit, deletion or reordering is found and named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from proofdesk import audit
from proofdesk.cli.main import inner_main
from proofdesk.config import Settings
from proofdesk.db import make_engine, make_session_factory, migrate, session_scope


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = Settings(data_dir=tmp_path, environment="test")
    migrate(s)
    return s


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings)
    with session_scope(make_session_factory(engine)) as s:
        yield s
    engine.dispose()


def _fill(session: Session, n: int = 5) -> None:
    for i in range(n):
        audit.append(session, "reviewer:r1", "case.decided", "case", f"c{i}", {"i": i, "note": "退款"})
    session.commit()


def test_intact_chain_verifies(session: Session) -> None:
    _fill(session)
    result = audit.verify_chain(session)
    assert result.ok and result.checked == 5
    assert [e.seq for e in audit.events_for(session, "case", "c3")] == [4]


def test_edited_event_is_named(session: Session) -> None:
    _fill(session)
    session.execute(text("UPDATE audit_events SET data = '{\"i\": 99}' WHERE seq = 3"))
    session.commit()
    session.expire_all()
    result = audit.verify_chain(session)
    assert not result.ok and result.first_broken_seq == 3 and result.checked == 2


def test_deleted_event_is_named(session: Session) -> None:
    _fill(session)
    session.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    session.commit()
    result = audit.verify_chain(session)
    assert not result.ok and result.first_broken_seq == 2


def test_rehashed_edit_breaks_the_next_link(session: Session) -> None:
    _fill(session)
    event = session.get(audit.AuditEvent, 2)
    assert event is not None
    event.actor = "admin:someone-else"
    event.hash = audit.event_hash(
        seq=2,
        at=event.at,
        actor=event.actor,
        action=event.action,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        data=event.data,
        prev_hash=event.prev_hash,
    )
    session.commit()
    result = audit.verify_chain(session)
    assert not result.ok and result.first_broken_seq == 3


def test_cli_verify_exit_codes(settings: Settings, session: Session, capsys: pytest.CaptureFixture[str]) -> None:
    _fill(session, 3)
    assert inner_main(["audit", "verify", "--data-dir", str(settings.data_dir)]) == 0
    assert "intact: 3 events" in capsys.readouterr().out
    session.execute(text("UPDATE audit_events SET action = 'case.hidden' WHERE seq = 2"))
    session.commit()
    assert inner_main(["audit", "verify", "--data-dir", str(settings.data_dir)]) == 1
    assert "broken at event 2" in capsys.readouterr().out


def test_cli_verify_without_database_is_usage_error(tmp_path: Path) -> None:
    assert inner_main(["audit", "verify", "--data-dir", str(tmp_path / "nothing")]) == 2
