"""Durable background jobs: the ``jobs`` table and the rules for running a job once (application layer).

Checks run as jobs (issue 5 §2). The table, not the transport, is the source of truth:

1. A service :func:`enqueue` s a job *in the same transaction* as the evidence it concerns, so a stored
   photo always has its check job and a rolled-back upload leaves neither.
2. After the commit the service hands the job ids to a :class:`JobDispatcher`: the local process pool
   (``proofdesk.workers.LocalJobBackend``, embedded default) or Dramatiq on Redis
   (``proofdesk.workers.DramatiqJobBackend``, production). Neither is written here: we use
   ``concurrent.futures`` and Dramatiq as they are.
3. Whoever executes a job calls :func:`run_job`: it *claims* the row with one conditional UPDATE (``queued``,
   or ``running`` with an expired lease), runs the handler outside any transaction, and finishes the row in
   the handler's own commit. A worker that dies mid-check leaves a ``running`` row whose lease expires;
   :func:`recoverable` finds it (and jobs whose dispatch was lost) so the backend sends it again. A second
   delivery of a finished job is a no-op, so at-least-once delivery gives exactly-once results.
4. A handler that raises is retried up to ``max_attempts`` times, then the job is ``failed`` and the
   handler's ``on_failure`` hook lets the case service send the case to a person.
"""

from __future__ import annotations

from proofdesk.jobs._jobs import (
    DEFAULT_LEASE_S,
    InlineDispatcher,
    JobDispatcher,
    JobHandler,
    QueuedOnlyDispatcher,
    claim,
    enqueue,
    finish,
    recoverable,
    release_dead_local,
    run_job,
)
from proofdesk.jobs._models import Job

__all__ = [
    "DEFAULT_LEASE_S",
    "InlineDispatcher",
    "Job",
    "JobDispatcher",
    "JobHandler",
    "QueuedOnlyDispatcher",
    "claim",
    "enqueue",
    "finish",
    "recoverable",
    "release_dead_local",
    "run_job",
]
