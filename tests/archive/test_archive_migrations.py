"""Schema migrations, opening errors, and sharing one database between threads and
processes."""

from __future__ import annotations

import multiprocessing as mp
import random
import threading
import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from evolve import archive
from evolve.archive import Archive, SeqConflict
from evolve.archive.db import VERSION_TABLE, head_revision
from evolve.archive.models import Base
from evolve.archive.new_program import NewProgram
from evolve.errors import StorageError


def test_migrations_match_the_models(arc):
    with arc._engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, parent: not (kind == "table" and name == VERSION_TABLE),
            },
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # expression indexes (fitness DESC) are skipped with a warning
            diffs = compare_metadata(ctx, Base.metadata)
    assert diffs == []


def test_upgrade_is_idempotent(archive_url):
    assert archive.upgrade(archive_url) == head_revision()
    assert archive.upgrade(archive_url) == head_revision()
    with Archive(archive_url) as a:
        assert a.revision == head_revision()
        a.create_campaign("x", "toy", {})
    assert archive.upgrade(archive_url) == head_revision()
    with Archive(archive_url) as a:
        assert a.get_campaign("x") is not None


def test_unknown_revision_is_a_storage_error(arc, archive_url):
    with arc._engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = 'ffff_from_the_future'"))
    arc.close()
    with pytest.raises(StorageError, match="upgrade evolve"):
        Archive(archive_url)


def test_unopenable_storage_raises_storage_error(tmp_path):
    with pytest.raises(StorageError, match="cannot create the directory"):
        Archive("sqlite:////proc/evolve-no/archive.db")
    with pytest.raises(StorageError, match="cannot open the archive at postgresql"):
        Archive("postgresql://bob:s3cret@127.0.0.1:1/nodb?connect_timeout=2")
    try:
        Archive("postgresql://bob:s3cret@127.0.0.1:1/nodb?connect_timeout=2")
    except StorageError as e:
        assert "s3cret" not in str(e)
    with pytest.raises(StorageError, match="driver"):
        Archive("mysql://u@localhost/db")
    with pytest.raises(StorageError, match="empty storage URL"):
        Archive("")
    not_a_db = tmp_path / "garbage.db"
    not_a_db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="cannot open the archive"):
        Archive(str(not_a_db))


def test_urls():
    assert archive.normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert archive.normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert archive.normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert archive.normalize_url("runs.db").startswith("sqlite:////") and archive.normalize_url("runs.db").endswith(
        "/runs.db"
    )
    assert archive.normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_plain_path_and_memory(tmp_path):
    with Archive(str(tmp_path / "sub" / "dir" / "a.db")) as a:
        a.create_campaign("x", "toy", {})
    assert (tmp_path / "sub" / "dir" / "a.db").exists()
    with Archive("sqlite://") as m:  # in-memory: one shared connection
        c = m.create_campaign("x", "toy", {})
        m.add_program(c.id, NewProgram(code="x = 1", island=0, status="ok", fitness=1.0))
        assert m.count(c.id) == 1


def test_sqlite_uses_wal(tmp_path):
    with Archive(f"sqlite:///{tmp_path / 'w.db'}") as a:
        with a._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000


def test_threads_share_one_archive(arc, campaign):
    errors = []

    def work(t: int) -> None:
        try:
            rng = random.Random(t)
            for i in range(25):
                parents = arc.sample_parents(campaign.id, t % 2, 1, "tournament", rng)
                arc.add_program(
                    campaign.id,
                    NewProgram(
                        code=f"t{t} = {i}",
                        island=t % 2,
                        status="ok",
                        fitness=rng.random(),
                        seq=t * 1000 + i,
                        parent_ids=[p.id for p in parents],
                    ),
                )
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    arc.add_program(campaign.id, NewProgram(code="seed0", island=0, status="ok", fitness=0.0))
    arc.add_program(campaign.id, NewProgram(code="seed1", island=1, status="ok", fitness=0.0))
    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert arc.count(campaign.id) == 152
    total_children = sum(p.n_children for p in arc.programs(campaign.id))
    assert total_children == 150  # every child counted once on its parent
    for island in (0, 1):  # positions dense: uniform sampling reaches every ok program
        ok = {p.id for p in arc.programs(campaign.id, island=island)}
        assert {p.id for p in arc.sample_parents(campaign.id, island, 500, "uniform", random.Random(0))} == ok


def _add_many(url: str, cid: int, worker: int, start, out) -> None:
    a = Archive(url)
    start.wait()
    conflicts = 0
    for i in range(40):
        a.add_program(
            cid,
            NewProgram(
                code=f"w{worker} = {i}",
                island=i % 3,
                status="ok",
                fitness=float(i),
                seq=worker * 100 + i,
                parent_ids=[1],
            ),
        )
        try:  # every worker also tries to claim the same shared seqs: exactly one wins each
            a.add_program(cid, NewProgram(code=f"shared {i}", island=0, status="error", seq=10_000 + i))
        except SeqConflict:
            conflicts += 1
    out.put(conflicts)
    a.close()


@pytest.mark.slow
def test_processes_share_one_database(archive_url):
    with Archive(archive_url) as a:
        cid = a.create_campaign("mp", "toy", {}).id
        a.add_program(cid, NewProgram(code="seed", island=0, status="ok", fitness=0.0))
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_add_many, args=(archive_url, cid, w, start, out)) for w in range(4)]
    for p in procs:
        p.start()
    start.set()
    conflicts = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(60)
    assert sum(conflicts) == 3 * 40  # each shared seq stored once, refused three times
    with Archive(archive_url) as a:
        assert a.count(cid) == 1 + 4 * 40 + 40
        assert a.get_program(1).n_children == 160
        assert a.done_seqs(cid) == {w * 100 + i for w in range(4) for i in range(40)} | {10_000 + i for i in range(40)}
        for island in range(3):
            ok = {p.id for p in a.programs(cid, status="ok", island=island)}
            assert {p.id for p in a.sample_parents(cid, island, 1000, "uniform", random.Random(1))} == ok


def test_old_database_is_migrated_on_open(archive_url):
    from alembic import command
    from sqlalchemy import text as sql

    from evolve.archive.db import _alembic_config, make_engine

    engine = make_engine(archive_url)
    with engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with engine.begin() as conn:
        tables = set(sql_names(conn))
        assert "programs" in tables and "elite_cells" not in tables
        conn.execute(
            sql(
                "INSERT INTO campaigns (name, problem, config, status, state, spent_input_tokens, "
                "spent_output_tokens, spent_cost, n_calls, created_at, updated_at) VALUES "
                "('old', 'toy', '{}', 'done', '{}', 0, 0, 0, 0, '2024-01-01', '2024-01-01')"
            )
        )
    engine.dispose()
    with Archive(archive_url) as a:
        assert a.revision == head_revision()
        assert a.get_campaign("old").status == "done"
        with a._engine.connect() as conn:
            assert "elite_cells" in set(sql_names(conn))


def sql_names(conn):
    from sqlalchemy import inspect

    return inspect(conn).get_table_names()
