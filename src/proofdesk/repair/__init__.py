"""On-site repair (application layer): intake → region → dispatch → visit → record → warranty → follow-up.

Pure domain modules (no database; usable and tested alone):

- :mod:`~proofdesk.repair.regions`: China's administrative divisions from the ``cpca`` data file, address
  resolution, team coverage, travel estimates between division centroids.
- :mod:`~proofdesk.repair.calendar`: working time with official holidays and 调休 workdays (``chinesecalendar``).
- :mod:`~proofdesk.repair.dispatch`: technicians, response promise per priority and region, ranking and
  booking, timers (reminders, escalations, reassignment).
- :mod:`~proofdesk.repair.lifecycle`: the visit state machine (``VisitStatus`` + ``TRANSITIONS``).
- :mod:`~proofdesk.repair.warranty`: parts-and-labour warranty, extensions, lookup by serial, maintenance plans.

Persistence and rules: :mod:`~proofdesk.repair.models` (tables) and :mod:`~proofdesk.repair.service`
(``RepairService``), used by ``proofdesk.api.routes.repair`` and ``proofdesk.console.repair_routes``.
"""
