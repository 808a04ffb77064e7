"""Implementation of :mod:`proofdesk.workers` (see its docstring)."""

from __future__ import annotations

import functools
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Final, Protocol

from proofdesk.config import Settings
from proofdesk.jobs import recoverable, release_dead_local
from proofdesk.repair.service import RepairService
from proofdesk.security import Principal, Role
from proofdesk.services import Services, build_services

log = logging.getLogger(__name__)

QUEUE_NAME: Final = "proofdesk-jobs"
ACTOR_NAME: Final = "run_job"


#: The maintenance thread acts on repair timers as a dispatcher would; audit events name it "dispatcher:system".
_REPAIR_SCHEDULER: Final = Principal(Role.DISPATCHER, None, None, "maintenance")

class JobBackend(Protocol):
    """A dispatcher that can be started and stopped."""

    def dispatch(self, job_ids: Sequence[str]) -> None:
        """Send jobs."""
        ...

    def start(self) -> None:
        """Start workers (if any are owned)."""
        ...

    def stop(self) -> None:
        """Stop owned workers."""
        ...

    def in_flight(self) -> set[str]:
        """Jobs handed over and not known to be finished (not to be re-sent by recovery)."""
        ...


# -- local process pool ------------------------------------------------------------------------------
_worker_services: Services | None = None


def _init_worker(settings: Settings) -> None:
    global _worker_services
    _worker_services = build_services(settings)
    _worker_services.cases.warm_up()  # import and build the checks now, not during the first job


def _execute(job_id: str) -> str:
    assert _worker_services is not None, "worker not initialised"
    return _worker_services.run_job(job_id)


class LocalJobBackend:
    """Jobs run in a pool of spawned local processes (the embedded default)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending: set[str] = set()

    def start(self) -> None:
        """Create the pool (processes start on first use)."""
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=max(1, self.settings.local_workers),
                    mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded server
                    initializer=_init_worker,
                    initargs=(self.settings,),
                )

    def stop(self) -> None:
        """Stop the pool; running jobs finish, queued ones stay ``queued`` in the table for next time."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def in_flight(self) -> set[str]:
        """Submitted and not finished."""
        with self._lock:
            return set(self._pending)

    def dispatch(self, job_ids: Sequence[str]) -> None:
        """Submit jobs to the pool (re-creating it if a worker died)."""
        self.start()
        for job_id in job_ids:
            with self._lock:
                if job_id in self._pending or self._pool is None:
                    continue
                try:
                    future = self._pool.submit(_execute, job_id)
                except BrokenProcessPool:
                    self._reset_locked()
                    assert self._pool is not None
                    future = self._pool.submit(_execute, job_id)
                self._pending.add(job_id)
            future.add_done_callback(functools.partial(self._done, job_id))

    def _reset_locked(self) -> None:
        log.warning("local worker pool broke (a worker died); starting a new one")
        old, self._pool = self._pool, None
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)
        self._pending.clear()
        self._pool = ProcessPoolExecutor(
            max_workers=max(1, self.settings.local_workers),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.settings,),
        )

    def _done(self, job_id: str, future: Future[str]) -> None:
        with self._lock:
            self._pending.discard(job_id)
            broken = isinstance(future.exception(), BrokenProcessPool) if not future.cancelled() else False
            if broken and self._pool is not None:
                self._reset_locked()  # recovery re-sends the lost jobs from the table


# -- Dramatiq ----------------------------------------------------------------------------------------
class DramatiqJobBackend:
    """Jobs go to Redis as Dramatiq messages; separate ``dramatiq`` worker processes run them."""

    def __init__(self, settings: Settings) -> None:
        from dramatiq.brokers.redis import RedisBroker

        self.settings = settings
        self.broker = RedisBroker(url=settings.redis_url, namespace=settings.dramatiq_namespace)  # type: ignore[no-untyped-call]
        self.broker.declare_queue(QUEUE_NAME)

    def start(self) -> None:
        """Workers are separate processes; nothing to start here."""

    def stop(self) -> None:
        """Close the Redis connection pool."""
        self.broker.close()

    def in_flight(self) -> set[str]:
        """Unknown here: recovery only re-sends jobs that waited long enough (see Maintenance)."""
        return set()

    def dispatch(self, job_ids: Sequence[str]) -> None:
        """One message per job."""
        from dramatiq import Message

        for job_id in job_ids:
            self.broker.enqueue(
                Message(queue_name=QUEUE_NAME, actor_name=ACTOR_NAME, args=(job_id,), kwargs={}, options={})
            )


def make_job_backend(settings: Settings) -> JobBackend:
    """The backend ``settings.job_backend`` names."""
    if settings.job_backend == "dramatiq":
        return DramatiqJobBackend(settings)
    return LocalJobBackend(settings)


class Maintenance:
    """Background thread in the API process: window expiry and job recovery every ``interval_s``; the repair
    promise timers (reminders, escalations, reassignment of late visits) and due maintenance visits every
    ``repair_every_s``, so a promise is watched even when no dispatcher presses "run timers"."""

    def __init__(
        self,
        services: Services,
        backend: JobBackend,
        *,
        interval_s: float = 2.0,
        requeue_after_s: float = 30.0,
        repair_every_s: float = 60.0,
        repair_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.services = services
        self.backend = backend
        self.interval_s = interval_s
        self.repair_every_s = repair_every_s
        self._repair_clock = repair_clock
        self._repair_last = float("-inf")
        # Dramatiq: a queued job older than this without a worker start is re-sent (its message may have been
        # lost between commit and send); a duplicate message is harmless (the claim fails, it is skipped).
        self.requeue_after_s = requeue_after_s if isinstance(backend, DramatiqJobBackend) else 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> tuple[int, int]:
        """One round; returns (windows escalated, jobs re-sent)."""
        escalated = self.services.cases.expire_windows()
        with self.services.session() as session:
            release_dead_local(session)
            ids = recoverable(session, queued_older_than_s=self.requeue_after_s)
        flying = self.backend.in_flight()
        resend = [i for i in ids if i not in flying]
        if resend:
            self.backend.dispatch(resend)
        return len(escalated), len(resend)

    def run_repair_round(self) -> tuple[int, int]:
        """Repair timers and maintenance scheduling; returns (alerts fired, maintenance requests created)."""
        with self.services.session() as session:
            repair = RepairService(session, self.services.cipher, self.services.store, self.services.settings)
            if self._repair_clock is not None:
                repair.clock = self._repair_clock
            fired = repair.sweep(_REPAIR_SCHEDULER)
            created = repair.schedule_maintenance(_REPAIR_SCHEDULER)
        return len(fired), len(created)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep maintaining; the next round retries
                log.exception("maintenance round failed")
            if time.monotonic() - self._repair_last >= self.repair_every_s:
                self._repair_last = time.monotonic()
                try:
                    self.run_repair_round()
                except Exception:
                    log.exception("repair timer round failed")
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        """Start the thread (runs a first round at once: a restarted server resumes accepted work)."""
        self._thread = threading.Thread(target=self._loop, name="proofdesk-maintenance", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
