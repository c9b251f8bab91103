"""One program's page: highlighted code, a unified diff against each parent, metrics,
per-case scores, stdout tail, failure reason, thought and reflection, every LLM call
that produced it (prompt, reply, tokens, cost, latency) and its children.

Everything here that a candidate or a model wrote is hostile. It leaves as plain
strings in JSON: code as (token class, text) pairs from Pygments, diffs as lines. The
page turns them into text nodes; nothing is ever parsed as HTML.
"""

from __future__ import annotations

import difflib
from typing import Any

from pygments.lexers import PythonLexer
from pygments.token import STANDARD_TYPES

from evolve.archive.views import ArchiveReader

STDOUT_TAIL = 4000
HIGHLIGHT_LIMIT = 200_000  # characters; longer code is shown plain
_LEXER = PythonLexer(stripnl=False, ensurenl=False)


def highlight(code: str) -> list[list[str]]:
    """``[[css class, text], ...]`` covering ``code`` exactly (classes as Pygments'
    short names: k keyword, s string, c comment, ...)."""
    if len(code) > HIGHLIGHT_LIMIT:
        return [["", code]]
    out: list[list[str]] = []
    for ttype, text in _LEXER.get_tokens(code):
        while ttype not in STANDARD_TYPES:
            ttype = ttype.parent
        cls = STANDARD_TYPES[ttype]
        if out and out[-1][0] == cls:
            out[-1][1] += text
        else:
            out.append([cls, text])
    return out


def unified_diff(old: str, new: str, old_name: str, new_name: str) -> list[str]:
    return [
        line.rstrip("\n")
        for line in difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), old_name, new_name, n=3
        )
    ]


def _split_metrics(metrics: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    cases = {k: v for k, v in metrics.items() if k.startswith("case:") or k.startswith("case_")}
    rest = {k: v for k, v in metrics.items() if k not in cases}
    return rest, cases


def program_page(reader: ArchiveReader, program_id: int, max_children: int = 200) -> dict[str, Any] | None:
    p = reader.program(program_id)
    if p is None:
        return None
    campaign = reader.campaign(p.campaign_id, counts=False)
    parents = {q.id: q for q in reader.programs(p.parent_ids)}
    diffs = []
    for rank, pid in enumerate(p.parent_ids):
        parent = parents.get(pid)
        diffs.append(
            {
                "parent_id": pid,
                "rank": rank,
                "missing": parent is None,
                "parent_objective": parent.objective if parent else None,
                "lines": unified_diff(parent.code, p.code, f"program {pid}", f"program {p.id}") if parent else [],
            }
        )
    calls = reader.llm_calls(p.id)
    child_ids, n_children = reader.children_of(p.id, max_children)
    metrics, cases = _split_metrics(p.metrics)
    stdout = p.stdout or ""
    return {
        "id": p.id,
        "campaign": {"id": p.campaign_id, "name": campaign["name"] if campaign else None},
        "seq": p.seq,
        "island": p.island,
        "generation": p.generation,
        "status": p.status,
        "reason": p.reason,
        "operator": p.operator,
        "model": p.model,
        "objective": p.objective,
        "fitness": p.fitness,
        "metrics": metrics,
        "cases": cases,
        "descriptor": p.descriptor,
        "feedback": p.feedback,
        "thought": p.thought,
        "reflection": [c.response for c in calls if c.purpose == "reflect" and c.response],
        "stdout_tail": stdout[-STDOUT_TAIL:],
        "stdout_truncated": len(stdout) > STDOUT_TAIL,
        "eval_time": p.eval_time,
        "proposal_time": p.proposal_time,
        "tokens": {"input": p.input_tokens, "output": p.output_tokens},
        "cost": p.cost,
        "duplicate_of": p.duplicate_of,
        "created_at": p.created_at.timestamp(),
        "code": p.code,
        "code_tokens": highlight(p.code),
        "parent_ids": p.parent_ids,
        "diffs": diffs,
        "calls": [
            {
                "id": c.id,
                "purpose": c.purpose,
                "model": c.model,
                "prompt": _messages(c.prompt),
                "response": c.response,
                "input_tokens": c.input_tokens,
                "output_tokens": c.output_tokens,
                "cost": c.cost,
                "latency": c.latency,
                "error": c.error,
            }
            for c in calls
        ],
        "children": sorted(reader.light(child_ids), key=lambda q: q["id"]),
        "n_children": n_children,
        "filename": download_name(campaign["problem"] if campaign else "program", p.id),
    }


def _messages(prompt: Any) -> list[dict[str, str]]:
    """A stored prompt as chat messages (a plain string is one user message)."""
    if prompt is None:
        return []
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    out = []
    for m in prompt:
        if isinstance(m, dict):
            content = m.get("content")
            if not isinstance(content, str):  # content parts: keep their text
                content = "".join(
                    part.get("text", "") if isinstance(part, dict) else str(part) for part in content or []
                )
            out.append({"role": str(m.get("role", "")), "content": content})
        else:
            out.append({"role": "", "content": str(m)})
    return out


def download_name(problem: str, program_id: int) -> str:
    """The file name offered for download: the problem's name (not its path) and the id,
    as ``evolve export`` names its files (less the rank)."""
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in problem.rstrip("/").split("/")[-1]) or "program"
    return f"{stem}_{program_id}.py"
