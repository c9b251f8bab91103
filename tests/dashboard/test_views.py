"""The dashboard's answers and server, without a browser: read-only archive access on
SQLite and PostgreSQL, every API path, the token and Host checks, security headers,
downloads identical to ``evolve export``, and following new rows."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

import evolve
from evolve.archive import Archive
from evolve.archive.new_program import NewProgram
from evolve.archive.views import ArchiveReader
from evolve.dashboard.columns import ColumnCache
from evolve.dashboard.data import Dashboard
from evolve.dashboard.server import build_app
from evolve.errors import StorageError
from tests.dashboard.campaigns import store_gp
from tests.dashboard.conftest import in_thread


def _ids(reader) -> dict[str, int]:
    return {c["name"]: c["id"] for c in reader.campaigns()}


def _client(url: str, token: str | None = None, host: str = "127.0.0.1") -> TestClient:
    return TestClient(build_app(Dashboard(ArchiveReader(url)), token), base_url=f"http://{host}:8765")


def _check_answers(url: str) -> None:
    client = _client(url)
    campaigns = client.get("/api/campaigns").json()
    gp = next(c for c in campaigns if c["name"] == "gp")
    assert gp["evaluations"] == gp["budget"] == 40 and gp["status"] == "finished" and gp["best_id"]
    cid = gp["id"]
    progress = client.get(f"/api/c/{cid}/progress").json()
    assert progress["direction"] == "max"
    assert progress["totals"]["evaluations"] == 40
    best = [v for v in progress["best"] if v is not None]
    assert best == sorted(best) and best[-1] == pytest.approx(gp["best"])  # best so far never drops
    assert set(progress["islands"]) == {"0", "1"}
    assert len(progress["x"]["evaluations"]) == len(progress["best"]) == len(progress["median"])
    lineage = client.get(f"/api/c/{cid}/lineage?k=5").json()
    ids = {n["id"] for n in lineage["nodes"]}
    assert gp["best_id"] in ids and set(lineage["top"]) <= ids
    for n in lineage["nodes"]:  # the ancestry is closed: every parent is drawn (or marked cut off)
        assert all(p in ids for p in n["parents"]) or n["more_up"]
    seeds = [n for n in lineage["nodes"] if "seed" in n["flags"]]
    assert seeds and all(not n["parents"] for n in seeds)
    page = client.get(f"/api/p/{gp['best_id']}").json()
    assert page["code"] and "".join(t for _, t in page["code_tokens"]) == page["code"]
    assert len(page["diffs"]) == len(page["parent_ids"]) >= 1
    assert any(line.startswith("+") for d in page["diffs"] for line in d["lines"])
    ops = client.get(f"/api/c/{cid}/operators").json()
    assert sum(r["proposals"] for r in ops["rows"]) == progress["totals"]["proposals"]
    assert all(r["operator"].startswith("gp.") for r in ops["rows"])
    div = client.get(f"/api/c/{cid}/diversity").json()
    assert div["map_elites"]["kind"] == "grid" and div["map_elites"]["cells"]
    assert all(c["program_id"] for c in div["map_elites"]["cells"])
    assert client.get(f"/api/c/{cid}/finetune").json()["rounds"] == []
    assert len(client.get(f"/api/c/{cid}/recent?limit=5").json()) == 5
    assert client.get(f"/api/p/{gp['best_id']}/neighbours").json()["nodes"][0]["id"] == gp["best_id"]
    assert client.get("/api/p/999999").status_code == 404
    assert client.get("/api/c/999/progress").status_code == 404


def test_every_answer_on_sqlite(archive_url):
    _check_answers(archive_url)


@pytest.mark.postgres
@pytest.mark.slow
def test_every_answer_on_postgres(postgres_schema_url):
    in_thread(lambda: store_gp(postgres_schema_url))
    _check_answers(postgres_schema_url)
    with ArchiveReader(postgres_schema_url) as reader, pytest.raises(DBAPIError, match="read-only"):
        with reader._engine.begin() as conn:
            conn.execute(text("UPDATE programs SET objective = 0"))


def test_the_reader_cannot_write_and_never_migrates(archive_url, tmp_path):
    with ArchiveReader(archive_url) as reader, pytest.raises(DBAPIError, match="readonly"):
        with reader._engine.begin() as conn:
            conn.execute(text("DELETE FROM programs"))
    empty = tmp_path / "empty.db"
    with pytest.raises(StorageError, match="no evolve archive"):
        ArchiveReader(f"sqlite:///{empty}")


def test_llm_program_page_links_prompt_reply_and_cost(archive_url):
    client = _client(archive_url)
    with ArchiveReader(archive_url) as reader:
        cid = _ids(reader)["llm"]
    progress = client.get(f"/api/c/{cid}/progress").json()
    assert progress["totals"]["cost"] > 0 and progress["totals"]["rejected"] >= 1
    ops = client.get(f"/api/c/{cid}/operators").json()
    assert {r["operator"] for r in ops["rows"]} >= {"llm.diff", "llm.rewrite"}
    assert all(r["model"] == "openai:test-model" for r in ops["rows"])
    assert ops["models"][0]["improvement_per_dollar"] is not None
    best = client.get(f"/api/c/{cid}/top?k=1").json()[0]
    page = client.get(f"/api/p/{best['id']}").json()
    propose = [c for c in page["calls"] if c["purpose"] == "propose"]
    assert propose and propose[-1]["prompt"] and propose[-1]["response"].startswith("THOUGHT")
    assert propose[-1]["input_tokens"] > 0 and propose[-1]["cost"] > 0
    assert page["thought"] and page["cost"] == pytest.approx(sum(c["cost"] for c in page["calls"]))


def test_download_is_the_exported_file(archive_url, tmp_path):
    client = _client(archive_url)
    campaign = evolve.load_campaign("gp", archive_url)
    (exported,) = campaign.export(str(tmp_path), top=1)
    pid = campaign.best().id
    response = client.get(f"/api/p/{pid}/download")
    assert response.content == exported.read_bytes()
    assert response.headers["content-disposition"] == f'attachment; filename="quadratic_{pid}.py"'


def test_security_headers_on_every_response(archive_url):
    client = _client(archive_url)
    for path in ("/", "/static/js/core.js", "/api/campaigns", "/api/p/999999"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "require-trusted-types-for" in csp
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"


def test_loopback_serving_refuses_foreign_host_headers(archive_url):
    """DNS rebinding: a page at evil.example resolving to 127.0.0.1 must not read the archive."""
    assert _client(archive_url).get("/api/campaigns").status_code == 200
    assert _client(archive_url, host="localhost").get("/api/campaigns").status_code == 200
    assert _client(archive_url, host="evil.example").get("/api/campaigns").status_code == 400


def test_token_is_required_off_loopback(archive_url):
    client = _client(archive_url, token="s3cret-token", host="10.1.2.3")
    for path in ("/", "/api/campaigns", "/static/js/core.js", "/api/p/1/download"):
        response = client.get(path)
        assert response.status_code == 401 and "s3cret" not in response.text
    assert client.get("/api/campaigns", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/campaigns", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    # The printed link sets an HttpOnly cookie and drops the token from the address.
    response = client.get("/?token=s3cret-token", follow_redirects=False)
    assert response.status_code == 303 and "token" not in response.headers["location"]
    cookie = response.headers["set-cookie"]
    assert "evolve_token=s3cret-token" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/api/campaigns").status_code == 200  # the client kept the cookie


def test_cli_prints_a_token_off_loopback_and_requests_without_it_get_401(archive_url):
    """The real command on 0.0.0.0 (requests only go to 127.0.0.1)."""
    import os
    import subprocess
    import sys
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "evolve", "dashboard", "--storage", archive_url, "--host", "0.0.0.0", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
    )
    try:
        line = proc.stdout.readline()
        assert "token=" in line, line + proc.stderr.read() if proc.poll() is not None else line
        link = line.split()[3]
        port = int(link.split(":")[2].split("/")[0])
        token = link.split("token=")[1]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                assert httpx.get(f"{base}/api/campaigns").status_code == 401
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        answer = httpx.get(f"{base}/api/campaigns", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and {c["name"] for c in answer.json()} >= {"gp", "llm"}
        assert httpx.get(f"{base}/api/campaigns?token=not-it").status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)


def test_cli_user_errors_are_one_line(archive_url, tmp_path):
    import subprocess
    import sys

    def run(*args):
        return subprocess.run([sys.executable, "-m", "evolve", *args], capture_output=True, text=True, timeout=60)

    missing = run("dashboard", "nope", "--storage", archive_url, "--port", "0")
    assert (
        missing.returncode == 2 and "no campaign named 'nope'" in missing.stderr and "Traceback" not in missing.stderr
    )
    empty = run("report", "gp", "--storage", f"sqlite:///{tmp_path}/none.db", "--out", str(tmp_path / "r.html"))
    assert empty.returncode == 2 and "no evolve archive" in empty.stderr
    assert not (tmp_path / "none.db").exists()  # looking never creates an archive
    bad = run("plot", "gp", "--storage", archive_url, "--out", str(tmp_path / "p"), "--format", "gif")
    assert bad.returncode == 2 and "--format" in bad.stderr


def test_columns_follow_new_programs_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/cols.db"
    with Archive(url) as arc:
        c = arc.create_campaign("c", "p", {"islands": 1})
        first = [
            arc.add_program(c.id, NewProgram(code=f"x={i}", island=0, status="ok", seq=i, objective=i, fitness=i))
            for i in range(3)
        ]
        with ArchiveReader(url) as reader:
            cache = ColumnCache(reader, c.id)
            assert cache.frame().cols["id"].tolist() == [p.id for p in first]
            v = cache.version
            newer = arc.add_program(c.id, NewProgram(code="y", island=0, status="error", seq=3))
            frame = cache.frame()
            assert frame.cols["id"].tolist() == [*(p.id for p in first), newer.id]
            assert frame.labels("status").tolist() == ["ok", "ok", "ok", "error"]
            assert frame.cols["seq"].tolist() == [0, 1, 2, 3] and frame.cols["parent0"].tolist() == [-1] * 4
            assert cache.version == v + 1
            assert cache.frame() is frame  # nothing new: the same frame


@pytest.mark.postgres
def test_columns_do_not_miss_a_late_commit_on_postgres(postgres_schema_url):
    """On PostgreSQL a row can become visible after rows with larger ids (its transaction
    committed late); the cache re-reads its recent tail, so it is not missed."""
    url = postgres_schema_url
    with Archive(url) as arc:
        c = arc.create_campaign("c", "p", {"islands": 1})
        for i in range(3):
            arc.add_program(c.id, NewProgram(code=f"x={i}", island=0, status="ok", seq=i, objective=i, fitness=i))
        with arc._write_engine.begin() as conn:  # spread the ids (10, 20, 30); new ones start at 101
            conn.execute(text("UPDATE programs SET id = id * 10"))
            conn.execute(text("SELECT setval(pg_get_serial_sequence('programs', 'id'), 100)"))
        with ArchiveReader(url) as reader:
            cache = ColumnCache(reader, c.id)
            assert cache.frame().cols["id"].tolist() == [10, 20, 30]
            v = cache.version
            late = arc.add_program(c.id, NewProgram(code="late", island=0, status="error", seq=10))
            with arc._write_engine.begin() as conn:  # an id below ones already seen, as a late commit has
                conn.execute(text("UPDATE programs SET id = 15 WHERE id = :i"), {"i": late.id})
            newer = arc.add_program(c.id, NewProgram(code="y", island=0, status="ok", seq=11, objective=9, fitness=9))
            frame = cache.frame()
            assert frame.cols["id"].tolist() == [10, 15, 20, 30, newer.id]
            assert frame.labels("status").tolist() == ["ok", "error", "ok", "ok", "ok"]
            assert cache.version == v + 1
            assert cache.frame() is frame


def test_answers_are_valid_json_with_non_finite_metrics(tmp_path):
    url = f"sqlite:///{tmp_path}/nan.db"
    with Archive(url) as arc:
        c = arc.create_campaign("c", "p", {"islands": 1})
        p = arc.add_program(
            c.id, NewProgram(code="x", island=0, status="ok", objective=1.0, fitness=1.0, metrics={"a": float("nan")})
        )
    body = _client(url).get(f"/api/p/{p.id}").text
    assert json.loads(body)["metrics"]["a"] == "NaN"


def test_lineage_draws_missing_failed_and_evicted_ancestors(tmp_path):
    """Nothing in a best program's ancestry is dropped: a parent with no row is drawn as
    missing, a failed one as failed, one from before an island reset as evicted."""
    url = f"sqlite:///{tmp_path}/marks.db"
    with Archive(url) as arc:
        c = arc.create_campaign("m", "p", {"islands": 1, "selection": "tournament"})
        seed = arc.add_program(
            c.id, NewProgram(code="s", island=0, status="ok", operator="seed", objective=1, fitness=1)
        )
        failed = arc.add_program(
            c.id, NewProgram(code="f", island=0, status="error", seq=0, born_at=0, parent_ids=[seed.id])
        )
        old = arc.add_program(
            c.id,
            NewProgram(code="o", island=0, status="ok", seq=1, born_at=1, parent_ids=[seed.id], objective=2, fitness=2),
        )
        best = arc.add_program(
            c.id,
            NewProgram(
                code="b",
                island=0,
                status="ok",
                seq=5,
                born_at=5,
                parent_ids=[old.id, failed.id],
                objective=9,
                fitness=9,
            ),
        )
        orphan = arc.add_program(
            c.id,
            NewProgram(code="x", island=0, status="ok", seq=6, born_at=6, parent_ids=[987654], objective=8, fitness=8),
        )
        arc.set_island_state(c.id, 0, {"floor": 3})  # an island reset at proposal 3
    answer = _client(url).get(f"/api/c/{c.id}/lineage?k=2").json()
    nodes = {n["id"]: n for n in answer["nodes"]}
    assert answer["top"] == [best.id, orphan.id]
    assert set(nodes) == {best.id, orphan.id, old.id, failed.id, seed.id, 987654}
    assert nodes[best.id]["parents"] == [old.id, failed.id]  # a crossover: both parents drawn
    assert "failed" in nodes[failed.id]["flags"] and "evicted" in nodes[failed.id]["flags"]
    assert "evicted" in nodes[old.id]["flags"] and nodes[old.id]["evicted_why"] == "island reset"
    assert nodes[987654]["flags"] == ["missing"]
    assert "seed" in nodes[seed.id]["flags"] and "evicted" not in nodes[seed.id]["flags"]
    assert not any(n["more_up"] for n in nodes.values())


def test_finetune_rounds_as_recorded(tmp_path):
    url = f"sqlite:///{tmp_path}/ft.db"
    round_dir = tmp_path / "round-1"
    (round_dir / "merged").mkdir(parents=True)
    (round_dir / "metrics.json").write_text(
        json.dumps({"method": "sft", "examples": 42, "metrics": {"train_loss": 0.5}})
    )
    spec = f"hf:{round_dir / 'merged'}"
    with Archive(url) as arc:
        c = arc.create_campaign("ft", "p", {"islands": 1})
        arc.add_program(c.id, NewProgram(code="s", island=0, status="ok", operator="seed", objective=1, fitness=1))
        arc.add_program(
            c.id, NewProgram(code="a", island=0, status="ok", seq=0, model="openai:m", objective=2, fitness=2)
        )
        arc.log_event(c.id, "finetune", {"at": 1, "model": spec, "method": "sft"})
        arc.add_program(c.id, NewProgram(code="b", island=0, status="ok", seq=1, model=spec, objective=3, fitness=3))
    answer = _client(url).get(f"/api/c/{c.id}/finetune").json()
    (only,) = answer["rounds"]
    assert only["at"] == 1 and only["model"] == spec and only["method"] == "sft"
    assert only["metrics"] == {"examples": 42, "method": "sft", "metrics": {"train_loss": 0.5}}
    by_model = {m["model"]: m for m in answer["models"]}
    assert by_model[spec]["first_seq"] == 1 and by_model["openai:m"]["last_seq"] == 0
    assert by_model[spec]["best"] == 3
