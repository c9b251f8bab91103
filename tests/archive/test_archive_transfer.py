"""Export and import of a campaign between SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import numpy as np
import pytest

from evolve.archive import Archive
from evolve.archive.new_program import NewProgram
from evolve.archive.policies import Grid, MapElites
from evolve.archive.policies.embeddings import EmbeddingDeduper
from evolve.archive.transfer import export_records, import_records, read_records, write_records
from evolve.operators.base import LLMCall


def _fill(arc: Archive, name: str = "src") -> int:
    rng = random.Random(0)
    cid = arc.create_campaign(name, "toy", {"islands": 2, "seed": 3}).id
    seed = arc.add_program(cid, NewProgram(code="seed", island=0, status="ok", fitness=0.0, born_at=-5))
    arc.add_program(cid, NewProgram(code="seed", island=1, status="ok", fitness=0.0, born_at=-5, duplicate_of=seed.id))
    ids = [seed.id]
    call = LLMCall(model="m", prompt=[{"role": "user", "content": "hi"}], response="r", input_tokens=3, cost=0.25)
    for i in range(120):
        status = "ok" if i % 5 else "error"
        rec = arc.add_program(
            cid,
            NewProgram(
                code=f"x = {i}",
                island=i % 2,
                status=status,
                seq=i,
                born_at=i,
                fitness=rng.random() if status == "ok" else None,
                parent_ids=rng.sample(ids, min(len(ids), 1 + i % 2)),
                metrics={"score": float(i), "odd": float("nan")},
                descriptor={"d": float(i % 7)},
                llm_calls=[call],
                publish=i < 110,
            ),
        )
        ids.append(rec.id)
    arc.add_llm_calls(cid, [call])  # a call that made no program
    arc.set_island_state(cid, 1, {"reflection": "try loops", "floor": 7})
    arc.log_event(cid, "islands", {"island": 0, "at": 40})
    me = MapElites(
        arc.campaign_store(cid), Grid.fixed([("d", 0, 7, 7)]), descriptor=lambda p: p.descriptor or {"d": 0.0}
    )
    for p in arc.programs(cid, status="ok"):
        me.offer(p)
    dedup = EmbeddingDeduper(arc.campaign_store(cid), encoder=lambda texts: np.ones((len(texts), 4), np.float32) / 2)
    for pid in ids[1:4]:
        dedup.add(pid, "x")
    return cid


def _normal(records) -> list[tuple]:
    """Records with program ids replaced by their rank and row ids dropped."""
    records = list(records)
    rank = {r["row"]["id"]: i for i, r in enumerate(r for r in records if r["table"] == "program")}
    out = []
    for rec in records:
        table, r = rec["table"], dict(rec["row"])
        if table == "header":
            continue
        if table == "campaign":
            r.pop("name")
        if table == "program":
            r["id"] = rank[r["id"]]
            r["parent_ids"] = [rank[p] for p in r["parent_ids"]]
            r["duplicate_of"] = rank.get(r["duplicate_of"])
        else:
            r.pop("id", None)
        if "program_id" in r:
            r["program_id"] = rank.get(r["program_id"])
        out.append((table, json.dumps(r, sort_keys=True)))
    return sorted(out)


@pytest.mark.postgres
def test_round_trip_sqlite_postgres_sqlite(tmp_path, postgres_schema_url):
    src = Archive(f"sqlite:///{tmp_path / 'src.db'}")
    pg = Archive(postgres_schema_url)
    back = Archive(f"sqlite:///{tmp_path / 'back.db'}")
    try:
        cid = _fill(src)
        original = list(export_records(src, "src"))
        assert write_records(tmp_path / "a.jsonl.gz", original) == len(original)
        pg.create_campaign("other", "toy", {})  # the target already holds something
        pg_cid = import_records(pg, read_records(tmp_path / "a.jsonl.gz"), name="moved")
        write_records(tmp_path / "b.parquet", export_records(pg, "moved"))
        back_cid = import_records(back, read_records(tmp_path / "b.parquet"))
        assert back.get_campaign_by_id(back_cid).name == "moved"
        want = _normal(original)
        assert _normal(export_records(pg, "moved")) == want
        assert _normal(export_records(back, "moved")) == want
        # the moved campaign samples, publishes and spends exactly like the original
        for arc, c in ((src, cid), (pg, pg_cid), (back, back_cid)):
            assert arc.spend(c) == {"input_tokens": 363, "output_tokens": 0, "cost": 30.25, "calls": 121}
            assert arc.island_sizes(c) == src.island_sizes(cid)
            assert len(arc.unpublished(c)) == 8
        picks = [
            [p.seq for p in arc.sample_parents(c, 1, 3, "tournament", random.Random(5))]
            for arc, c in ((src, cid), (pg, pg_cid), (back, back_cid))
        ]
        assert picks[0] == picks[1] == picks[2]
        lineage = [
            [p.seq for p in arc.lineage(arc.programs(c, order="-id", limit=1)[0].id)]
            for arc, c in ((src, cid), (pg, pg_cid))
        ]
        assert lineage[0] == lineage[1]
    finally:
        for a in (src, pg, back):
            a.close()


def test_export_import_on_one_backend(arc, tmp_path):
    _fill(arc)
    path = tmp_path / "c.jsonl"
    write_records(path, export_records(arc, "src"))
    cid = import_records(arc, read_records(path), name="copy")
    assert _normal(export_records(arc, "copy")) == _normal(read_records(path))
    assert arc.count(cid) == 122


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "evolve", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_cli_export_import_and_bad_input(tmp_path):
    db, other = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    with Archive(db) as arc:
        _fill(arc)
    ok = _cli("db", "export", "src", "--out", "src.jsonl", "--storage", db, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    ok = _cli("db", "import", "src.jsonl", "--storage", other, cwd=tmp_path)
    assert ok.returncode == 0 and "122 programs" in ok.stdout, ok.stderr
    for args in (
        ("db", "export", "nope", "--out", "x.jsonl", "--storage", db),  # no such campaign
        ("db", "import", "src.jsonl", "--storage", other),  # already there
        ("db", "import", "missing.jsonl", "--storage", other),
    ):
        bad = _cli(*args, cwd=tmp_path)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    (tmp_path / "junk.jsonl").write_text(
        '{"table": "header", "row": {"format": "evolve-campaign", "version": 1}}\nnot json\n'
    )
    bad = _cli("db", "import", "junk.jsonl", "--storage", other, "--name", "j", cwd=tmp_path)
    assert bad.returncode == 2 and "junk.jsonl:2" in bad.stderr
    with Archive(other) as arc:
        assert [c.name for c in arc.list_campaigns()] == ["src"]  # nothing half-imported
