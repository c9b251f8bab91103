"""The dashboard in a real browser (Playwright driving Debian's chromium): every view
renders without console errors, a lineage node opens its program, hostile text stays
text, the live view follows a running campaign, and the report works from file://.
Screenshots of each view go to docs/images/ (the README shows them)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from evolve.archive.views import ArchiveReader
from evolve.dashboard.report import write_report
from tests.dashboard.campaigns import HOSTILE, store_gp
from tests.dashboard.conftest import LiveServer, in_thread, screenshot

pytestmark = pytest.mark.slow


def _ids(url: str) -> dict[str, int]:
    with ArchiveReader(url) as reader:
        return {c["name"]: c["id"] for c in reader.campaigns()}


def _settle(page, selector: str) -> None:
    page.wait_for_selector(selector, timeout=15_000)
    page.wait_for_load_state("networkidle")


def _only_own_requests(requests: list[str], base: str) -> list[str]:
    """Requests that went anywhere but the dashboard's own page, scripts and API."""
    own = (f"{base}/static/", f"{base}/api/", f"{base}/#")
    return [u for u in requests if u != f"{base}/" and not u.startswith(own)]


def test_each_view_renders_without_console_errors(live_server, archive_url, watched):
    ids = _ids(archive_url)
    w = watched()
    page, base = w.page, live_server.base
    gp, llm = ids["gp"], ids["llm"]
    views = [
        ("campaigns", "/#/", "table.grid"),
        ("progress", f"/#/c/{gp}/progress", ".uplot"),
        ("lineage", f"/#/c/{gp}/lineage", "#cy canvas"),
        ("diversity", f"/#/c/{gp}/diversity", ".hcell.filled"),
        ("operators", f"/#/c/{llm}/operators", "table.grid"),
        ("finetune", f"/#/c/{llm}/finetune", "table.grid"),
        ("llm-progress", f"/#/c/{llm}/progress", ".uplot"),
    ]
    for name, path, selector in views:
        page.goto(base + path)
        _settle(page, selector)
        assert not page.query_selector(".error"), f"{name}: {page.inner_text('.error')}"
        screenshot(page, name)
    best_llm = page.evaluate(f"fetch('/api/c/{llm}/top?k=1').then(r => r.json())")[0]["id"]
    page.goto(f"{base}/#/p/{best_llm}")
    _settle(page, "#code")
    assert page.query_selector_all(".call pre.reply")  # the model's reply is shown
    screenshot(page, "program")
    page.locator(".call").last.scroll_into_view_if_needed()
    page.locator(".call details").last.evaluate("d => d.open = true")
    page.locator(".call").last.scroll_into_view_if_needed()
    screenshot(page, "program-llm")
    assert w.errors == []
    assert w.dialogs == []
    assert _only_own_requests(w.requests, base) == []


def test_clicking_a_lineage_node_opens_its_program_with_code_and_diff(live_server, archive_url, watched):
    gp = _ids(archive_url)["gp"]
    w = watched()
    page = w.page
    page.goto(f"{live_server.base}/#/c/{gp}/lineage")
    _settle(page, "#cy canvas")
    page.wait_for_function("() => window.EV && EV.cy && EV.cy.nodes().length > 0")
    with ArchiveReader(archive_url) as reader:
        target = next(p for p in reader.light(reader.best_ids(gp, 5)) if p["parents"])
        code = reader.program(target["id"]).code
        parent_code = reader.program(target["parents"][0]).code
    page.evaluate(f"EV.cy.zoom(1.5); EV.cy.center(EV.cy.getElementById('{target['id']}'))")
    pos = page.evaluate(f"EV.cy.getElementById('{target['id']}').renderedPosition()")
    box = page.query_selector("#cy").bounding_box()
    page.mouse.click(box["x"] + pos["x"], box["y"] + pos["y"])
    page.wait_for_url(f"**/#/p/{target['id']}")
    _settle(page, "#code")
    assert page.inner_text("#code") == code
    diff = page.inner_text(f"pre.diff[data-parent='{target['parents'][0]}']")
    assert diff.startswith(f"--- program {target['parents'][0]}\n+++ program {target['id']}")
    removed = {line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")}
    added = {line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")}
    assert removed <= set(parent_code.splitlines()) and added <= set(code.splitlines()) and (removed or added)
    assert w.errors == []


def _assert_inert(w, page) -> None:
    assert page.evaluate("window.__pwned === undefined"), page.evaluate("window.__pwned")
    assert w.dialogs == []
    assert page.query_selector_all("main img, main iframe, main script, main a[href^='javascript']") == []
    assert not any("127.0.0.9" in u for u in w.requests)


def test_hostile_text_is_shown_as_text_and_nothing_runs(live_server, archive_url, watched):
    hostile = _ids(archive_url)["hostile"]
    with ArchiveReader(archive_url) as reader:
        child, failed = reader.best_ids(hostile, 1)[0], max(p["id"] for p in reader.recent(hostile, 5))
    w = watched()
    page, base = w.page, live_server.base
    for path, selector in [
        (f"/#/p/{child}", "#code"),
        (f"/#/p/{failed}", "pre.reason"),
        (f"/#/c/{hostile}/progress", "#live-feed table"),
        (f"/#/c/{hostile}/lineage", "#cy canvas"),
        (f"/#/c/{hostile}/operators", "table.grid"),
        ("/#/", "table.grid"),
    ]:
        page.goto(base + path)
        _settle(page, selector)
        page.wait_for_timeout(300)
        _assert_inert(w, page)
    page.goto(f"{base}/#/p/{child}")
    _settle(page, "#code")
    for opened in page.query_selector_all("details"):
        opened.evaluate("d => d.open = true")
    text = page.inner_text("main")
    assert "<script>window.__pwned" in text and "onerror=" in text and "javascript:" in text
    assert HOSTILE in page.inner_text("pre.thought") and HOSTILE in page.inner_text("pre.reply")
    screenshot(page, "hostile")
    _assert_inert(w, page)
    assert _only_own_requests(w.requests, base) == []
    assert w.errors == []


def test_live_view_shows_a_new_program_within_two_seconds(tmp_path, watched):
    url = f"sqlite:///{tmp_path}/live.db"
    in_thread(lambda: store_gp(url, name="live", budget=4))
    with LiveServer(url) as server:
        cid = _ids(url)["live"]
        w = watched()
        page = w.page
        page.goto(f"{server.base}/#/c/{cid}/progress")
        _settle(page, "#live-feed table")
        seen: dict[int, float] = {}
        stored: dict[int, float] = {}

        def on_tell(record, _stats):
            stored[record.id] = time.monotonic()

        def extend():
            import evolve

            evolve.create_campaign(
                str(Path(__file__).resolve().parents[1] / "e2e" / "quadratic"), storage=url, name="live", budget=12
            ).run(on_tell=on_tell)

        runner = threading.Thread(target=extend)
        runner.start()
        deadline = time.monotonic() + 120

        def waiting() -> bool:
            return runner.is_alive() or not set(sorted(stored)[-5:]) <= set(seen)

        while waiting() and time.monotonic() < deadline:
            for pid in page.eval_on_selector_all("#live-feed a.plink", "els => els.map(e => e.textContent)"):
                if pid.startswith("#") and int(pid[1:]) not in seen:
                    seen[int(pid[1:])] = time.monotonic()
            page.wait_for_timeout(100)
        runner.join(60)
        assert stored, "the campaign stored nothing"
        newest = sorted(stored)[-5:]  # the feed lists the latest programs
        lags = [seen[p] - stored[p] for p in newest if p in seen]
        assert len(lags) == len(newest), f"not shown: {set(newest) - set(seen)}"
        assert max(lags) < 2.0, lags
        assert w.errors == []


def test_report_opens_from_file_without_any_request(archive_url, tmp_path, watched):
    out = write_report(archive_url, "llm", tmp_path / "report.html")
    hostile = write_report(archive_url, "hostile", tmp_path / "hostile.html")
    w = watched()
    page = w.page
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort())
    cid = _ids(archive_url)["llm"]
    for path, selector in [
        ("#/", "table.grid"),
        (f"#/c/{cid}/progress", ".uplot"),
        (f"#/c/{cid}/lineage", "#cy canvas"),
        (f"#/c/{cid}/operators", "table.grid"),
        (f"#/c/{cid}/diversity", ".uplot"),
    ]:
        page.goto(out.as_uri() + path)
        _settle(page, selector)
        assert not page.query_selector(".error")
    screenshot(page, "report")
    best = page.evaluate(f"EV.embedded.answers['/api/c/{cid}/top?k=10'][0].id")
    page.goto(out.as_uri() + f"#/p/{best}")
    _settle(page, "#code")
    assert page.query_selector_all("pre.diff")
    hid = _ids(archive_url)["hostile"]
    with ArchiveReader(archive_url) as reader:
        child = reader.best_ids(hid, 1)[0]
    page.goto(hostile.as_uri() + f"#/p/{child}")
    _settle(page, "#code")
    assert "<script>window.__pwned" in page.inner_text("#code")
    _assert_inert(w, page)
    assert [u for u in w.requests if not u.startswith("file://")] == []
    assert w.errors == []
