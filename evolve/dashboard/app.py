"""Entry points the CLI calls: open the archive read-only, find the campaign, serve."""

from __future__ import annotations

from collections.abc import Callable

from evolve.archive.views import ArchiveReader
from evolve.errors import CampaignNotFound, ConfigError


def open_reader(storage: str) -> ArchiveReader:
    return ArchiveReader(storage)


def find_campaign(reader: ArchiveReader, name: str, storage: str) -> int:
    """The id of campaign ``name`` (CampaignNotFound, naming the ones there, if absent)."""
    info = reader.campaign_by_name(name)
    if info is None:
        known = ", ".join(c["name"] for c in reader.campaigns()) or "none"
        raise CampaignNotFound(f"no campaign named {name!r} in {storage} (campaigns there: {known})")
    return info.id


def run_dashboard(
    storage: str, name: str | None, host: str, port: int, announce: Callable[[str], None] = print
) -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ConfigError("the dashboard needs its extra: pip install 'evolve-search[dashboard]'") from None
    from evolve.dashboard.data import Dashboard
    from evolve.dashboard.server import serve

    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, not {port}")
    reader = open_reader(storage)
    try:
        first = find_campaign(reader, name, storage) if name else None
        dashboard = Dashboard(reader)
        dashboard.warm(first)
        serve(dashboard, host, port, f"#/c/{first}/progress" if first else "", announce=announce)
    finally:
        reader.close()
