"""``evolve report``: one self-contained, offline HTML file of a campaign.

The report is the dashboard's own page with its answers embedded: the same scripts and
styles inlined, and the JSON the server would have sent (progress, lineage of the best,
operators and models, diversity, fine-tuning, and the program pages of the top programs
and the best one's line) in a ``<script type="application/json">`` block, which the
browser never executes. A Content-Security-Policy in the file allows exactly those
inline scripts and styles (by hash), no network at all, and no HTML from strings.
"""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path
from typing import Any

from evolve.archive.views import ArchiveReader
from evolve.dashboard.app import find_campaign
from evolve.dashboard.data import Dashboard, to_json
from evolve.errors import ConfigError

STATIC = Path(__file__).with_name("static")
SCRIPTS = [
    "vendor/uPlot.iife.min.js",
    "vendor/cytoscape.min.js",
    "vendor/d3-hierarchy.min.js",
    "js/core.js",
    "js/charts.js",
    "js/views.js",
    "js/lineage.js",
    "js/program.js",
    "js/main.js",
]
STYLES = ["vendor/uPlot.min.css", "app.css"]
TABS = ["progress", "lineage", "diversity", "operators", "finetune"]
MAX_PAGES = 200


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _embed_json(value: Any) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' can end or open a tag."""
    text = to_json(value)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def collect(dashboard: Dashboard, campaign_id: int, top: int = 10) -> dict[str, Any]:
    """The API answers a report embeds, by the path the page asks for."""
    c = f"/api/c/{campaign_id}"
    answers: dict[str, Any] = {
        "/api/campaigns": [x for x in dashboard.campaigns() if x["id"] == campaign_id],
        f"{c}/summary": dashboard.summary(campaign_id),
        f"{c}/progress": dashboard.progress(campaign_id),
        f"{c}/top?k=10": dashboard.top(campaign_id, 10),
        f"{c}/operators": dashboard.operators(campaign_id),
        f"{c}/diversity": dashboard.diversity(campaign_id),
        f"{c}/finetune": dashboard.finetune(campaign_id),
        f"{c}/lineage?k=10&limit=1000": dashboard.lineage(campaign_id, 10, 1000),
    }
    best = dashboard.top(campaign_id, max(top, 1))
    pages = [p["id"] for p in best]
    if best:  # the best program's line back to the seed
        pages += [r.id for r in reversed(dashboard.reader.programs(_first_parent_line(dashboard, best[0]["id"])))]
    for pid in list(dict.fromkeys(pages))[:MAX_PAGES]:
        answers[f"/api/p/{pid}"] = dashboard.program(pid)
    return answers


def _first_parent_line(dashboard: Dashboard, program_id: int, limit: int = MAX_PAGES) -> list[int]:
    line: list[int] = []
    current: int | None = program_id
    while current is not None and len(line) < limit:
        light = dashboard.reader.light([current])
        if not light:
            break
        line.append(current)
        parents = light[0]["parents"]
        current = parents[0] if parents else None
    return line


def render(answers: dict[str, Any], campaign_id: int, title: str) -> str:
    scripts = [(STATIC / s).read_text() for s in SCRIPTS]
    styles = [(STATIC / s).read_text() for s in STYLES]
    data = _embed_json({"campaign": campaign_id, "tabs": TABS, "generated_at": time.time(), "answers": answers})
    csp = "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(_hash(s) for s in scripts),
            "style-src " + " ".join(_hash(s) for s in styles),
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        ]
    )
    safe_title = "".join(ch for ch in title if ch.isalnum() or ch in " -_.:")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{safe_title} · Evolve report</title>",
        '<link rel="icon" href="data:,">',
        '<meta id="__________cytoscape_stylesheet" name="cytoscape-style" content="inlined below">',
        *[f"<style>{s}</style>" for s in styles],
        "</head><body>",
        '<header class="top"><a class="brand" href="#/">Evolve</a><nav id="nav"></nav><span id="live">report</span></header>',
        '<main id="main"></main>',
        f'<script type="application/json" id="evolve-data">{data}</script>',
        *[f"<script>{s}</script>" for s in scripts],
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(storage: str, name: str, out: str | Path, top: int = 10) -> Path:
    if top < 1:
        raise ConfigError(f"--top must be at least 1, not {top}")
    out = Path(out)
    with ArchiveReader(storage) as reader:
        cid = find_campaign(reader, name, storage)
        html = render(collect(Dashboard(reader), cid, top), cid, name)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html, encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot write the report to {out}: {e.strerror}") from None
    return out
