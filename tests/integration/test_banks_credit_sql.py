"""Reuse banks and buyer credit on the real databases: SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from proofdesk.banks import BankEntry, BankSource, ReuseBanks
from proofdesk.banks.sql import SQLBankStore
from proofdesk.checks.base import CheckContext
from proofdesk.checks.reuse import ReuseCheck
from proofdesk.config import Settings
from proofdesk.credit import CreditService, Outcome
from proofdesk.credit.sql import SQLOutcomeStore
from proofdesk.db import make_engine, make_session_factory, migrate
from proofdesk.errors import Conflict
from proofdesk.evidence import Evidence, read_evidence
from proofdesk.signals.pdq import pdq_hash

POSTGRES_URL = os.environ.get("PROOFDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, environment="test")
        migrate(settings)
        engine = make_engine(settings)
        yield make_session_factory(engine)
        engine.dispose()
        return
    # A database of our own per test, so parallel runs by other engineers never collide.
    name = f"pd_d2_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    settings = Settings(data_dir=tmp_path, environment="test", database_url=url)
    engine = make_engine(settings)
    try:
        migrate(settings, engine=engine)
        yield make_session_factory(engine)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _products(listings_dir: Path, n: int) -> list[Path]:
    first: dict[str, Path] = {}
    for path in sorted(listings_dir.glob("*.jpg")):
        first.setdefault(path.name.split("-")[0].split("_")[0], path)
    return list(first.values())[:n]


def test_banks_round_trip_and_two_workers(sessions: sessionmaker[Session], listings_dir: Path) -> None:
    store = SQLBankStore(sessions)
    worker_a, worker_b = ReuseBanks(store), ReuseBanks(SQLBankStore(sessions), index_kind="bruteforce")
    photos = [read_evidence(p) for p in _products(listings_dir, 4)]
    for i, evidence in enumerate(photos[:3]):
        worker_a.add_claim_photo(evidence, claim_id=f"c{i}", buyer=f"bp_{i}", merchant_id="m1")
    worker_a.add_listing_photo(photos[3], listing_image_id="img-9", merchant_id="m2")
    worker_a.add_negative(photos[2], label="stock photo", added_by="reviewer:r1")

    buffer = io.BytesIO()
    Image.fromarray(np.array(photos[1].reduced(600))).save(buffer, format="JPEG", quality=70)
    claim = read_evidence(buffer.getvalue())
    # worker_b never saw the writes: it catches up from the database on lookup
    finding = ReuseCheck.from_config({}).run(
        claim, CheckContext(hash_bank=worker_b.for_claim(claim_id="c-new", buyer="bp_9", merchant_id="m1"))
    )
    assert finding.label == "reused_other_buyer" and finding.reference == "c1"
    assert len(worker_b) == 4
    stored = store.get_entries([1, 2, 3, 4])
    assert {e.ref for e in stored.values()} == {"c0", "c1", "c2", "img-9"}
    assert all(e.added_at.tzinfo is not None for e in stored.values())
    [negative] = store.negatives()
    assert negative.label == "stock photo" and negative.pdq == stored[3].pdq


@pytest.mark.postgres
def test_row_committed_out_of_id_order_is_still_indexed(tmp_path: Path, listings_dir: Path) -> None:
    """PostgreSQL hands out ids at insert, not at commit: id 1 may become visible after id 2 was indexed."""
    name = f"pd_d2_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    settings = Settings(data_dir=tmp_path, environment="test", database_url=url)
    engine = make_engine(settings)
    try:
        migrate(settings, engine=engine)
        sessions = make_session_factory(engine)
        slow, fast = (read_evidence(p) for p in _products(listings_dir, 2))
        banks = ReuseBanks(SQLBankStore(sessions))
        slow_session = sessions()
        [slow_id] = SQLBankStore.add_entries_in(slow_session, [_entry(slow, "c-slow")])  # takes id 1, not committed
        [fast_id] = SQLBankStore(sessions).add_entries([_entry(fast, "c-fast")])  # id 2, committed
        assert (slow_id, fast_id) == (1, 2)
        assert banks.refresh() == 1  # sees only id 2; id 1 is remembered as a gap
        slow_session.commit()
        slow_session.close()
        assert banks.refresh() == 1  # the gap is filled
        view = banks.for_claim(claim_id="x", buyer="bp_z", merchant_id="m1")
        assert [h.ref for h in view.lookup(slow, max_distance=0)] == ["c-slow"]
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _entry(evidence: Evidence, claim_id: str) -> BankEntry:
    h = pdq_hash(evidence)
    return BankEntry(BankSource.CLAIM, claim_id, h.value, h.quality, "m1", buyer="bp_a")


def test_credit_outcomes_and_appeal(sessions: sessionmaker[Session]) -> None:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    service = CreditService(SQLOutcomeStore(sessions), clock=lambda: now)
    for claim, days in (("c1", 3), ("c2", 30)):
        service.record_outcome(
            claim_id=claim,
            buyer="bp_x",
            merchant_id="m1",
            outcome=Outcome.CONFIRMED_FORGED,
            actor="reviewer:r1",
            decided_at=now - timedelta(days=days),
        )
    assert service.credit("bp_x").explanation[0] == "2 confirmed forged claims in 90 days"
    with pytest.raises(Conflict):
        service.record_outcome(
            claim_id="c1", buyer="bp_x", merchant_id="m1", outcome=Outcome.UPHELD, actor="reviewer:r1"
        )
    service.appeal(claim_id="c1", overturned=True, actor="reviewer:r2")
    report = service.credit("bp_x", merchant_id="m1")
    assert report.forged_total == 1 and report.overturned_total == 1
    history = service.history("c1")
    assert [r.outcome for r in history] == [Outcome.CONFIRMED_FORGED, Outcome.OVERTURNED_ON_APPEAL]
    assert history[0].superseded_at is not None
    with pytest.raises(Conflict):  # the replaced record cannot be replaced again
        SQLOutcomeStore(sessions).add(history[1], supersede=history[0].id)
