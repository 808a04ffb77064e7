"""Demo data for the console (application layer): see :mod:`proofdesk.demo.seed` for what is seeded."""

from proofdesk.demo.seed import DEMO_CASES, DEMO_USERS, DemoResult, drain_jobs, packing_video, seed

__all__ = ["DEMO_CASES", "DEMO_USERS", "DemoResult", "drain_jobs", "packing_video", "seed"]
