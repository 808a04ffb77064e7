"""Job transports (delivery layer): how committed jobs reach a process that runs them.

- :class:`LocalJobBackend` (embedded default, ``job_backend=local``): a ``concurrent.futures``
  process pool of ``settings.local_workers`` spawned processes, children of ``proofdesk serve``. Each worker
  process builds its own :class:`~proofdesk.services.Services` once and calls ``Services.run_job``.
- :class:`DramatiqJobBackend` (production, ``job_backend=dramatiq``): sends a Dramatiq message per job to
  Redis; separate worker processes run ``dramatiq proofdesk.workers.dramatiq_actors`` (same Settings from
  the environment) and call ``Services.run_job``.

Both are at-least-once; ``proofdesk.jobs.run_job`` makes the result exactly-once. :class:`Maintenance` runs
in the API process: every few seconds it escalates expired merchant windows and re-sends jobs that are
queued without a live dispatch or whose worker died (lease expired, or a local worker pid that no longer
exists) — that is how a crash mid-check is re-run and how a restarted server finishes what was accepted.
"""

from __future__ import annotations

from proofdesk.workers._backends import (
    DramatiqJobBackend,
    JobBackend,
    LocalJobBackend,
    Maintenance,
    make_job_backend,
)

__all__ = ["DramatiqJobBackend", "JobBackend", "LocalJobBackend", "Maintenance", "make_job_backend"]
