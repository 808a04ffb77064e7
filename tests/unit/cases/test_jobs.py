"""Durable jobs: claim with a lease, retries, final failure, recovery of dead workers' jobs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import update

from proofdesk.db import utcnow
from proofdesk.jobs import Job, claim, enqueue, finish, recoverable, release_dead_local, run_job
from proofdesk.services import Services


def _job(services: Services, kind: str = "test", max_attempts: int = 2) -> str:
    with services.session() as session:
        return enqueue(session, kind, {"n": 1}, max_attempts=max_attempts).id


def _status(services: Services, job_id: str) -> tuple[str, int]:
    with services.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.status, job.attempts


def test_done_once_even_if_delivered_twice(services: Services) -> None:
    job_id = _job(services)
    calls: list[str] = []

    def handler(job: Job) -> None:
        calls.append(job.id)
        with services.session() as session:
            finish(session, job)

    assert run_job(services.sessions, job_id, {"test": handler}) == "done"
    assert run_job(services.sessions, job_id, {"test": handler}) == "skipped"
    assert calls == [job_id] and _status(services, job_id) == ("done", 1)


def test_failures_retry_then_fail_and_call_the_hook(services: Services) -> None:
    job_id = _job(services, max_attempts=2)
    failed: list[str] = []

    def boom(job: Job) -> None:
        raise RuntimeError("check crashed")

    assert run_job(services.sessions, job_id, {"test": boom}, on_failure=lambda j, m: failed.append(m)) == "retry"
    assert _status(services, job_id) == ("queued", 1)
    assert run_job(services.sessions, job_id, {"test": boom}, on_failure=lambda j, m: failed.append(m)) == "failed"
    assert _status(services, job_id) == ("failed", 2) and failed == ["RuntimeError: check crashed"]


def test_a_live_lease_blocks_and_an_expired_one_is_taken_over(services: Services) -> None:
    job_id = _job(services)
    assert claim(services.sessions, job_id) is not None
    assert claim(services.sessions, job_id) is None  # held by a live lease
    with services.session() as session:
        assert job_id not in recoverable(session)
    with services.session() as session:
        session.execute(update(Job).where(Job.id == job_id).values(lease_until=utcnow() - timedelta(seconds=1)))
    with services.session() as session:
        assert recoverable(session) == [job_id]
    taken = claim(services.sessions, job_id)
    assert taken is not None and taken.attempts == 2


def test_jobs_of_a_dead_local_worker_are_released(services: Services) -> None:
    job_id = _job(services)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead_pid = int(gone.stdout)
    assert claim(services.sessions, job_id) is not None
    with services.session() as session:
        session.execute(update(Job).where(Job.id == job_id).values(worker=f"{socket.gethostname()}:{dead_pid}"))
        other = enqueue(session, "test", {}).id
        session.flush()
        session.execute(
            update(Job)
            .where(Job.id == other)
            .values(
                status="running",
                worker=f"{socket.gethostname()}:{os.getpid()}",
                lease_until=utcnow() + timedelta(minutes=5),
            )
        )
    with services.session() as session:
        assert release_dead_local(session) == 1
    assert _status(services, job_id)[0] == "queued"
    assert _status(services, other)[0] == "running"  # this process is alive
