"""See a campaign: a live web dashboard, a self-contained HTML report and paper plots.

    evolve dashboard [NAME] [--storage URL] [--port P] [--host H]
    evolve report NAME --out report.html
    evolve plot NAME --out DIR

All three read the archive through ``evolve.archive.views.ArchiveReader`` (read-only at
the database level) and share the answers of ``evolve.dashboard.data.Dashboard``. The
server needs the ``dashboard`` extra (Starlette, uvicorn); plots need matplotlib.
"""

from evolve.dashboard.data import Dashboard, NotFound

__all__ = ["Dashboard", "NotFound"]
