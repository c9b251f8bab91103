"""The lineage graph: the ancestry of the top-k programs, with on-demand expansion.

At 100,000 programs the whole DAG is neither drawable nor useful; what people look
at is how the best programs came to be. So the graph is the top ``k`` programs and
their ancestors through every parent (crossover children have two), nearest first,
up to ``limit`` nodes; a node whose parents were cut off says so (``more_up``) and
the page fetches its neighbours when asked. Ancestors are never dropped: a parent id
with no program row is drawn as ``missing``; failed ones and ones out of play
(replaced MAP-Elites elites, programs from before an island reset) are marked.
"""

from __future__ import annotations

from typing import Any

from evolve.archive.views import ArchiveReader

FAILED = ("error", "timeout", "invalid")


class Marks:
    """Why a program is drawn specially: out of play or failed."""

    def __init__(self, reader: ArchiveReader, campaign_id: int, config: dict[str, Any]):
        self.map_elites = config.get("selection") == "map_elites"
        self.elites = {c["program_id"] for c in reader.elite_cells(campaign_id)} if self.map_elites else set()
        self.floors = {
            island: state["floor"]
            for island, state in reader.island_states(campaign_id).items()
            if isinstance(state.get("floor"), int)
        }

    def apply(self, node: dict[str, Any]) -> dict[str, Any]:
        flags = []
        if node["status"] in FAILED:
            flags.append("failed")
        if node["operator"] == "seed":
            flags.append("seed")
        floor = self.floors.get(node["island"])
        if floor is not None and node["born_at"] < floor and node["operator"] != "seed":
            flags.append("evicted")
            node["evicted_why"] = "island reset"
        elif self.map_elites and node["status"] == "ok" and node["id"] not in self.elites:
            flags.append("evicted")
            node["evicted_why"] = "not a MAP-Elites elite"
        node["flags"] = flags
        return node


def _node(p: dict[str, Any], marks: Marks) -> dict[str, Any]:
    n = {k: p[k] for k in ("id", "seq", "island", "status", "objective", "fitness", "operator", "model", "generation")}
    n.update(born_at=p["born_at"], parents=list(p["parents"]), n_children=p["n_children"])
    return marks.apply(n)


def _missing(pid: int) -> dict[str, Any]:
    return {
        "id": pid,
        "missing": True,
        "flags": ["missing"],
        "parents": [],
        "status": "missing",
        "objective": None,
        "fitness": None,
        "island": None,
        "operator": "",
        "model": None,
        "generation": None,
        "n_children": 0,
    }


def lineage(reader: ArchiveReader, campaign: dict[str, Any], k: int = 10, limit: int = 1000) -> dict[str, Any]:
    cid = campaign["id"]
    top = reader.best_ids(cid, k)
    ids = reader.ancestry(top, max(limit, len(top)))
    marks = Marks(reader, cid, campaign["config"])
    found = {p["id"]: _node(p, marks) for p in reader.light(ids)}
    nodes = [found.get(i) or _missing(i) for i in ids]
    shown = {n["id"] for n in nodes}
    for n in nodes:
        n["more_up"] = any(p not in shown for p in n["parents"])
    return {"top": top, "nodes": nodes, "limit": limit, "truncated": len(ids) >= limit}


def neighbours(reader: ArchiveReader, campaign: dict[str, Any], program_id: int, max_children: int = 100) -> dict:
    """A node's parents and (up to ``max_children``) children, for expanding the graph."""
    marks = Marks(reader, campaign["id"], campaign["config"])
    found_me = reader.light([program_id])
    if not found_me:
        return {"nodes": [], "children_total": 0}
    me = found_me[0]
    child_ids, total = reader.children_of(program_id, max_children)
    found = {p["id"]: _node(p, marks) for p in reader.light([*me["parents"], *child_ids, program_id])}
    nodes = [found.get(i) or _missing(i) for i in dict.fromkeys([program_id, *me["parents"], *child_ids])]
    return {"nodes": nodes, "children_total": total}
