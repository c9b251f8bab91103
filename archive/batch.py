"""Group commits: many programs, with their LLM calls, stored in one transaction.

``Archive.add_programs`` is ``add_program`` for a list: every program, its parent links,
its LLM calls and the spend totals go in one transaction, so a batch costs one commit
(one WAL sync on PostgreSQL, one write-lock round on SQLite) instead of one per program.
Either the whole batch is stored or none of it. ``evolve.archive.writebehind`` builds a
background group-commit queue on top of it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from evolve.archive import statements as S
from evolve.archive.base import ArchiveBase
from evolve.archive.dedup import code_hash as hash_code
from evolve.archive.models import Program, utcnow
from evolve.archive.records import STATUSES, ProgramRecord, clean_json, restore_floats

NEW_PROGRAM_KEYS = (
    "code",
    "island",
    "status",
    "seq",
    "born_at",
    "generation",
    "parent_ids",
    "operator",
    "model",
    "reason",
    "metrics",
    "objective",
    "fitness",
    "descriptor",
    "feedback",
    "thought",
    "stdout",
    "eval_time",
    "proposal_time",
    "input_tokens",
    "output_tokens",
    "cost",
    "duplicate_of",
    "llm_calls",
    "code_hash",
    "publish",
)
"""What one new program may say: ``add_program``'s keyword names."""


def as_mapping(program: Any) -> Mapping[str, Any]:
    """A new program given as a mapping or as a dataclass/attribute object."""
    if isinstance(program, Mapping):
        return program
    if dataclasses.is_dataclass(program) and not isinstance(program, type):
        return {f.name: getattr(program, f.name) for f in dataclasses.fields(program)}
    return {k: getattr(program, k) for k in NEW_PROGRAM_KEYS if hasattr(program, k)}


def program_values(campaign_id: int, kw: Mapping[str, Any]) -> tuple[dict, list]:
    """The ``programs`` row for a new program and its LLM calls, validated."""
    unknown = set(kw) - set(NEW_PROGRAM_KEYS)
    if unknown:
        raise TypeError(f"unknown program field(s): {', '.join(sorted(unknown))}")
    status = kw.get("status")
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    fitness, objective = kw.get("fitness"), kw.get("objective")
    if status == "ok" and fitness is None:
        raise ValueError("a program with status 'ok' needs a fitness (its objective oriented so larger is better)")
    code = kw.get("code") or ""  # a rejected proposal has no code
    calls = list(kw.get("llm_calls") or ())
    input_tokens, output_tokens = int(kw.get("input_tokens") or 0), int(kw.get("output_tokens") or 0)
    cost = float(kw.get("cost") or 0.0)
    if calls and not (input_tokens or output_tokens or cost):
        input_tokens = sum(int(c.input_tokens or 0) for c in calls)
        output_tokens = sum(int(c.output_tokens or 0) for c in calls)
        cost = float(sum(float(c.cost or 0.0) for c in calls))
    descriptor = kw.get("descriptor")
    values = dict(
        campaign_id=campaign_id,
        seq=kw.get("seq"),
        born_at=int(kw.get("born_at") or 0),
        island=int(kw["island"]),
        generation=int(kw.get("generation") or 0),
        code=code,
        code_hash=kw.get("code_hash") or hash_code(code),
        parent_ids=[int(p) for p in kw.get("parent_ids") or ()],
        operator=kw.get("operator") or "",
        model=kw.get("model"),
        status=status,
        reason=kw.get("reason"),
        metrics=clean_json(dict(kw.get("metrics") or {})),
        objective=None if objective is None else float(objective),
        fitness=None if fitness is None else float(fitness),
        descriptor=None if descriptor is None else clean_json(dict(descriptor)),
        feedback=kw.get("feedback"),
        thought=kw.get("thought"),
        stdout=kw.get("stdout"),
        eval_time=kw.get("eval_time"),
        proposal_time=kw.get("proposal_time"),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost=cost,
        duplicate_of=kw.get("duplicate_of"),
        n_children=0,
        ok_pos=None,
        created_at=utcnow(),
    )
    return values, calls


def record_of(values: dict, program_id: int) -> ProgramRecord:
    """The record of a row just inserted (no read back)."""
    out = {k: v for k, v in values.items() if k != "ok_pos"}
    out["id"] = program_id
    out["metrics"] = restore_floats(values["metrics"])
    return ProgramRecord(**out)


class BatchMixin(ArchiveBase):
    if TYPE_CHECKING:  # provided by Archive (store.py) and BulkMixin
        _insert_program: Callable[..., int]
        _allocate_program_ids: Callable[..., list[int]]
        _explain_integrity: Callable[[int, int | None], None]

    def add_programs(
        self, campaign_id: int, programs: Iterable[Mapping[str, Any] | Any], *, skip_stored_seqs: bool = False
    ) -> list[ProgramRecord | None]:
        """Store several programs in ONE transaction: all or nothing, one commit.

        Each program takes ``add_program``'s keyword names (a mapping, a dataclass or any
        object with those attributes), ``publish`` and ``llm_calls`` included; they are
        stored, positioned and published in the order given. Returns their records in
        that order. When a ``seq`` is already stored in the campaign, raises
        ``SeqConflict`` and stores nothing; with ``skip_stored_seqs=True`` such programs
        are left out instead (their slot in the result is None: another worker stored
        that proposal first) and the rest is stored.
        """
        items = [as_mapping(p) for p in programs]
        prepared = [(*program_values(campaign_id, p), bool(p.get("publish", True))) for p in items]
        if not prepared:
            return []
        seqs = [v["seq"] for v, _, _ in prepared if v["seq"] is not None]
        if len(seqs) != len(set(seqs)):
            raise ValueError("a batch holds the same seq twice")

        def tx(conn) -> list[int | None]:
            taken = self._stored_seqs(conn, campaign_id, seqs) if skip_stored_seqs and seqs else set()
            todo = [(v, calls, pub) for v, calls, pub in prepared if v["seq"] not in taken]
            self._insert_many(conn, campaign_id, todo)
            return [None if v["seq"] in taken else v["id"] for v, _, _ in prepared]

        for attempt in range(2):
            try:
                ids = self._write(tx)
                break
            except IntegrityError:
                # PostgreSQL: another worker may have stored one of these seqs between the
                # check and the insert; the check runs again on retry.
                if skip_stored_seqs and attempt == 0:
                    continue
                self._explain_batch_conflict(campaign_id, seqs)
                raise
        return [None if pid is None else record_of(values, pid) for (values, _, _), pid in zip(prepared, ids)]

    def _insert_many(self, conn, campaign_id: int, todo: list[tuple[dict, list, bool]]) -> None:
        """Insert programs with a handful of statements whatever their number: positions
        reserved per island (islands in order, so concurrent writers lock alike), ids
        drawn up front, then one executemany each for programs, parent links, child
        counts and LLM calls, and one spend update."""
        from evolve.archive.store import add_spend, call_rows

        per_island: dict[int, list[dict]] = {}
        for v, _, publish in todo:
            v["ok_pos"] = None
            if v["status"] == "ok" and publish:
                per_island.setdefault(v["island"], []).append(v)
        for island in sorted(per_island):
            first = self._next_positions(conn, campaign_id, island, len(per_island[island]))
            for i, v in enumerate(per_island[island]):
                v["ok_pos"] = first + i
        for pid, (v, _, _) in zip(self._allocate_program_ids(conn, len(todo)), todo):
            v["id"] = pid
        conn.execute(S.INSERT_PROGRAMS_PLAIN, [v for v, _, _ in todo])
        links = [
            {"child_id": v["id"], "rank": i, "parent_id": p} for v, _, _ in todo for i, p in enumerate(v["parent_ids"])
        ]
        if links:
            conn.execute(S.INSERT_LINKS, links)
        bumps: dict[int, int] = {}
        for v, _, publish in todo:
            for p in set(v["parent_ids"]) if publish else ():
                bumps[p] = bumps.get(p, 0) + 1
        if bumps:  # sorted: concurrent writers lock parent rows in one order
            conn.execute(S.BUMP_CHILDREN, [{"pid": p, "by": n} for p, n in sorted(bumps.items())])
        now = utcnow()
        calls = [row for v, c, _ in todo if c for row in call_rows(campaign_id, v["id"], v["seq"], c, now)]
        if calls:
            conn.execute(S.INSERT_CALLS_PLAIN, calls)
            add_spend(conn, campaign_id, calls)

    def _stored_seqs(self, conn, campaign_id: int, seqs: Sequence[int]) -> set[int]:
        q = select(Program.seq).where(Program.campaign_id == campaign_id, Program.seq.in_(list(seqs)))
        return {int(s) for s in conn.execute(q).scalars()}

    def _explain_batch_conflict(self, campaign_id: int, seqs: Sequence[int]) -> None:
        from evolve.archive.store import SeqConflict

        with self._read() as conn:
            taken = sorted(self._stored_seqs(conn, campaign_id, seqs)) if seqs else []
        if taken:
            raise SeqConflict(
                f"campaign {campaign_id} already has programs with seq {', '.join(map(str, taken[:10]))}; "
                "nothing of this batch was stored"
            ) from None
        self._explain_integrity(campaign_id, None)
