"""Implementation of :mod:`proofdesk.jobs` (see its docstring)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Final, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from proofdesk.db import session_scope, utcnow
from proofdesk.jobs._models import Job

log = logging.getLogger(__name__)

#: How long a worker may hold a job before another may take it over (a check takes seconds, not minutes).
DEFAULT_LEASE_S: Final = 300.0


class JobDispatcher(Protocol):
    """Sends committed job ids to whatever executes them."""

    def dispatch(self, job_ids: Sequence[str]) -> None:
        """Hand over jobs (already committed as ``queued``). May be called again for the same id."""
        ...


class JobHandler(Protocol):
    """Executes one kind of job; returns nothing, raises on failure."""

    def __call__(self, job: Job) -> None: ...


def enqueue(
    session: Session, kind: str, payload: dict[str, Any], *, case_id: str | None = None, max_attempts: int = 3
) -> Job:
    """Add a queued job to the caller's transaction."""
    job = Job(
        kind=kind,
        payload=payload,
        case_id=case_id,
        status="queued",
        attempts=0,
        max_attempts=max_attempts,
        created_at=utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def claim(sessions: sessionmaker[Session], job_id: str, *, lease_s: float = DEFAULT_LEASE_S) -> Job | None:
    """Take a job for this worker, or None if it is finished or held by a live lease elsewhere."""
    now = utcnow()
    with session_scope(sessions) as session:
        result = session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                or_(Job.status == "queued", (Job.status == "running") & (Job.lease_until < now)),
            )
            .values(
                status="running",
                attempts=Job.attempts + 1,
                lease_until=now + timedelta(seconds=lease_s),
                started_at=now,
                worker=_worker_name(),
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return None
        return session.get(Job, job_id)


def finish(session: Session, job: Job, *, error: str | None = None) -> None:
    """Mark a claimed job done (or retry/failed when ``error``), in the caller's transaction."""
    row = session.get(Job, job.id, with_for_update=True)
    if row is None:
        return
    row.finished_at = utcnow()
    row.lease_until = None
    if error is None:
        row.status, row.last_error = "done", None
    else:
        row.last_error = error[:4000]
        row.status = "failed" if row.attempts >= row.max_attempts else "queued"


def run_job(
    sessions: sessionmaker[Session],
    job_id: str,
    handlers: dict[str, Callable[[Job], None]],
    *,
    on_failure: Callable[[Job, str], None] | None = None,
    lease_s: float = DEFAULT_LEASE_S,
) -> str:
    """Claim and execute one job. Returns ``done``, ``retry``, ``failed`` or ``skipped`` (not claimable).

    The handler must call :func:`finish` in the same transaction as its result (so a result is never stored
    without the job being marked done, nor the reverse). When it raises, the job goes back to ``queued``
    (or ``failed`` after ``max_attempts``) and ``on_failure`` runs for a final failure.
    """
    job = claim(sessions, job_id, lease_s=lease_s)
    if job is None:
        return "skipped"
    handler = handlers.get(job.kind)
    try:
        if handler is None:
            raise LookupError(f"no handler for job kind {job.kind!r}")
        handler(job)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job row, never lost
        message = f"{type(exc).__name__}: {exc}"
        log.warning("job %s (%s) failed: %s", job.id, job.kind, message)
        with session_scope(sessions) as session:
            finish(session, job, error=message)
        final = job.attempts >= job.max_attempts
        if final and on_failure is not None:
            on_failure(job, message)
        return "failed" if final else "retry"
    return "done"


def recoverable(session: Session, *, queued_older_than_s: float = 0.0, limit: int = 1000) -> list[str]:
    """Ids of jobs to (re)send: queued (optionally only those waiting longer than given) or lease expired."""
    now = utcnow()
    stmt = (
        select(Job.id)
        .where(
            or_(
                (Job.status == "queued") & (Job.created_at <= now - timedelta(seconds=queued_older_than_s)),
                (Job.status == "running") & (Job.lease_until < now),
            )
        )
        .order_by(Job.created_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))


class QueuedOnlyDispatcher:
    """Leaves jobs queued (tests and tools that run them explicitly; recovery picks them up later)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def dispatch(self, job_ids: Sequence[str]) -> None:
        """Remember the ids only."""
        self.sent.extend(job_ids)


class InlineDispatcher:
    """Runs each job at once in the calling thread (tests; small tools). ``runner`` is ``run_job`` bound."""

    def __init__(self, runner: Callable[[str], object]) -> None:
        self._runner = runner

    def dispatch(self, job_ids: Sequence[str]) -> None:
        """Run every job now, in order."""
        for job_id in job_ids:
            self._runner(job_id)


def release_dead_local(session: Session) -> int:
    """Put back ``running`` jobs held by a process of this machine that no longer exists; returns how many.

    A local worker killed with the server leaves its jobs ``running`` until the lease expires; on the same
    host we can tell at once that the holder is gone, so a restarted server resumes them immediately.
    """
    host = socket.gethostname()
    released = 0
    for job in session.scalars(select(Job).where(Job.status == "running", Job.worker.like(f"{host}:%"))):
        pid_text = (job.worker or "").rsplit(":", 1)[-1]
        if not pid_text.isdigit():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            job.status, job.lease_until = "queued", None
            released += 1
        except PermissionError:
            continue  # exists, owned by someone else
    return released
