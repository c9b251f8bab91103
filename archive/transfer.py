"""Moving a campaign between archives (SQLite <-> PostgreSQL): export and import.

    evolve db export NAME --out bp.jsonl.gz --storage sqlite:///runs.db
    evolve db import bp.jsonl.gz --storage postgresql://host/db [--name NEW]

A campaign is exported as a stream of records, one JSON object per line (``.jsonl``, or
``.jsonl.gz`` compressed): a header, the campaign, its islands, its programs in id order,
their LLM calls, its events, MAP-Elites cells and code embeddings. With pyarrow installed
(``evolve-search[parquet]``) a ``.parquet`` file holds the same records, one per row
(columns ``table`` and ``record``, the record's JSON), zstd-compressed. Each record is
``{"table": ..., "row": {...}}``: the row as the archive's table holds it.

Import copies rows verbatim: sampling positions, child counts, spend totals, lineage,
unpublished programs and island state come out as they went in, so a campaign resumes on
the new archive exactly where it stopped. Programs get new ids in the target (parent ids,
``duplicate_of`` and every other reference are remapped); everything else is unchanged.
Programs go in chunks of several thousand per transaction; if the import fails half-way,
the half-imported campaign is deleted again.
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, insert, select

from evolve.archive import statements as S
from evolve.archive.models import Base, Campaign, EliteCell, Event, Island, LLMCallRow, Program, ProgramEmbedding
from evolve.errors import ConfigError, StorageError

log = logging.getLogger(__name__)
FORMAT = "evolve-campaign"
VERSION = 1
CHUNK = 5000
_TABLES: dict[str, Table] = {
    kind: Base.metadata.tables[model.__tablename__]
    for kind, model in (
        ("island", Island),
        ("program", Program),
        ("llm_call", LLMCallRow),
        ("event", Event),
        ("elite", EliteCell),
        ("embedding", ProgramEmbedding),
    )
}
_TIMES = ("created_at", "updated_at")


def _plain(row: Any, drop: tuple[str, ...] = ()) -> dict:
    out = {}
    for key, value in row._mapping.items():
        if key in drop:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, bytes):
            value = base64.b64encode(value).decode("ascii")
        out[key] = value
    return out


def export_records(archive, name: str) -> Iterator[dict]:
    """The campaign's records, in the order import needs them."""
    campaign = archive.get_campaign(name)
    if campaign is None:
        raise ConfigError(f"no campaign named {name!r} in {archive!r}")
    cid = campaign.id
    yield {"table": "header", "row": {"format": FORMAT, "version": VERSION, "schema": archive.revision}}
    with archive._read() as conn:
        yield {
            "table": "campaign",
            "row": _plain(conn.execute(select(Campaign).where(Campaign.id == cid)).one(), ("id",)),
        }
        for row in conn.execute(select(Island).where(Island.campaign_id == cid).order_by(Island.island)):
            yield {"table": "island", "row": _plain(row, ("campaign_id",))}
    for kind, table, key in (
        ("program", _TABLES["program"], "id"),
        ("llm_call", _TABLES["llm_call"], "id"),
        ("event", _TABLES["event"], "id"),
        ("embedding", _TABLES["embedding"], "program_id"),
    ):
        yield from _paged(archive, kind, table, table.c[key], cid)
    with archive._read() as conn:
        for row in conn.execute(select(EliteCell).where(EliteCell.campaign_id == cid)):
            yield {"table": "elite", "row": _plain(row, ("campaign_id",))}


def _paged(archive, kind: str, table, key, cid: int) -> Iterator[dict]:
    after = None
    while True:
        q = select(table).where(table.c.campaign_id == cid).order_by(key).limit(CHUNK)
        if after is not None:
            q = q.where(key > after)
        with archive._read() as conn:
            rows = conn.execute(q).all()
        for row in rows:
            yield {"table": kind, "row": _plain(row, ("campaign_id",))}
        if len(rows) < CHUNK:
            return
        after = rows[-1]._mapping[key.name]


def import_records(archive, records: Iterable[dict], name: str | None = None) -> int:
    """Store an exported campaign (under ``name``, default its own); returns its new id."""
    it = iter(records)
    header = next(it, None)
    if not header or header.get("table") != "header" or header.get("row", {}).get("format") != FORMAT:
        raise ConfigError("not an evolve campaign export (the first record is not its header)")
    if int(header["row"].get("version", 0)) > VERSION:
        raise ConfigError(f"this export has format version {header['row']['version']}; upgrade evolve to import it")
    first = next(it, None)
    if not first or first.get("table") != "campaign":
        raise ConfigError("the export has no campaign record after its header")
    values = _restore(first["row"], Campaign.__table__)
    values["name"] = name or values["name"]
    if archive.get_campaign(values["name"]) is not None:
        raise ConfigError(f"a campaign named {values['name']!r} already exists there: import it with --name NEW")
    cid = archive._write(lambda c: c.execute(insert(Campaign).values(**values).returning(Campaign.id)).scalar_one())
    try:
        _Importer(archive, cid).run(it)
    except BaseException:
        archive._write(lambda c: c.execute(delete(Campaign).where(Campaign.id == cid)))
        raise
    if archive.dialect == "sqlite" or archive.count(cid) >= 1000:
        archive.analyze()
    return cid


_COLUMNS: dict[str, frozenset[str]] = {}


def _restore(values: dict, table) -> dict:
    columns = _COLUMNS.get(table.name)
    if columns is None:
        columns = _COLUMNS[table.name] = frozenset(table.c.keys())
    unknown = values.keys() - columns
    if unknown:
        raise ConfigError(f"the export has a field {min(unknown)!r} this archive does not know; upgrade evolve")
    out = dict(values)
    for key in _TIMES:
        if isinstance(out.get(key), str):
            out[key] = datetime.fromisoformat(out[key])
    if isinstance(out.get("vector"), str):
        out["vector"] = base64.b64decode(out["vector"])
    return out


class _Importer:
    def __init__(self, archive, cid: int):
        self.archive, self.cid = archive, cid
        self.ids: dict[int, int] = {}  # exported program id -> new id
        self.pending: list[tuple[str, dict]] = []

    def run(self, records: Iterator[dict]) -> None:
        for rec in records:
            kind = rec.get("table")
            if kind not in _TABLES:
                raise ConfigError(f"unknown table {kind!r} in the export")
            if self.pending and (kind != self.pending[-1][0] or len(self.pending) >= CHUNK):
                self.flush()
            self.pending.append((kind, _restore(rec["row"], _TABLES[kind])))
        self.flush()

    def _new_id(self, old: int | None) -> int | None:
        if old is None:
            return None
        if old not in self.ids:
            raise ConfigError(f"the export refers to program {old}, which it does not hold")
        return self.ids[old]

    def flush(self) -> None:
        if not self.pending:
            return
        kind, rows = self.pending[0][0], [r for _, r in self.pending]
        self.pending = []
        for r in rows:
            r["campaign_id"] = self.cid
        if kind == "program":
            self.archive._write(lambda c: self._programs(c, rows))
            return
        for r in rows:
            if "program_id" in r:
                r["program_id"] = self._new_id(r["program_id"])
            r.pop("id", None)
        self.archive._write(lambda c: c.execute(insert(_TABLES[kind]), rows))

    def _programs(self, conn, rows: list[dict]) -> None:
        # New ids first, so references inside the chunk resolve before the insert
        # (parents and originals are older programs: exported earlier).
        new = self.archive._allocate_program_ids(conn, len(rows))
        for r, pid in zip(rows, new):
            self.ids[int(r["id"])] = pid
            r["id"] = pid
        for r in rows:
            r["parent_ids"] = [self._new_id(p) for p in r["parent_ids"] or []]
            r["duplicate_of"] = self._new_id(r["duplicate_of"])
        conn.execute(S.INSERT_PROGRAMS_PLAIN, rows)
        links = [{"child_id": r["id"], "rank": i, "parent_id": p} for r in rows for i, p in enumerate(r["parent_ids"])]
        if links:
            conn.execute(S.INSERT_LINKS, links)


# -- files --------------------------------------------------------------------------


def write_records(path: str | Path, records: Iterable[dict]) -> int:
    """Write records to ``.jsonl``, ``.jsonl.gz`` or ``.parquet``; returns how many."""
    path = Path(path)
    if path.suffix == ".parquet":
        return _write_parquet(path, records)
    opener = gzip.open if path.suffix == ".gz" else open
    n = 0
    try:
        with opener(path, "wt", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps(rec, separators=(",", ":")) + "\n")
                n += 1
    except OSError as e:
        raise StorageError(f"cannot write {path}: {e.strerror or e}") from None
    return n


def read_records(path: str | Path) -> Iterator[dict]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no export file at {path}")
    if path.suffix == ".parquet":
        yield from _read_parquet(path)
        return
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    raise ConfigError(f"{path}:{i}: not JSON ({e.msg})") from None


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError("Parquet needs pyarrow: pip install 'evolve-search[parquet]' (or use .jsonl)") from None
    return pa, pq


def _write_parquet(path: Path, records: Iterable[dict]) -> int:
    pa, pq = _pyarrow()
    schema = pa.schema([("table", pa.string()), ("record", pa.string())])
    n = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        batch: list[dict] = []
        for rec in itertools.chain(records, [None]):
            if rec is not None:
                batch.append(rec)
            if batch and (rec is None or len(batch) >= 50_000):
                writer.write_table(
                    pa.table(
                        {"table": [r["table"] for r in batch], "record": [json.dumps(r) for r in batch]}, schema=schema
                    )
                )
                n += len(batch)
                batch = []
    return n


def _read_parquet(path: Path) -> Iterator[dict]:
    _, pq = _pyarrow()
    for batch in pq.ParquetFile(path).iter_batches(columns=["record"]):
        for text in batch.column(0).to_pylist():
            yield json.loads(text)
