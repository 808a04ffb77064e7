"""Dramatiq worker entry point: ``dramatiq proofdesk.workers.dramatiq_actors`` (production job backend).

This module is an edge: it builds :class:`~proofdesk.config.Settings` from the environment (the same
``PROOFDESK_*`` variables as the API: database, blob store, Redis URL and namespace), points Dramatiq at that
Redis, and declares the one actor, which runs a job from the ``jobs`` table by id. Jobs the handlers create
(re-checks after keyframes arrive) are sent through the same broker.
"""

from __future__ import annotations

import threading

import dramatiq

from proofdesk.config import Settings
from proofdesk.services import Services, build_services
from proofdesk.workers._backends import ACTOR_NAME, QUEUE_NAME, DramatiqJobBackend

_settings = Settings.from_env(job_backend="dramatiq")
_backend = DramatiqJobBackend(_settings)
dramatiq.set_broker(_backend.broker)
_services: Services | None = None
_lock = threading.Lock()


def _get_services() -> Services:
    global _services
    with _lock:
        if _services is None:
            _services = build_services(_settings, dispatcher=_backend)
        return _services


@dramatiq.actor(
    actor_name=ACTOR_NAME, queue_name=QUEUE_NAME, max_retries=3, min_backoff=1000, max_backoff=30000, time_limit=600_000
)
def run_job(job_id: str) -> None:
    """Run one job from the jobs table (a second delivery of a finished job is a no-op)."""
    _get_services().run_job(job_id)
