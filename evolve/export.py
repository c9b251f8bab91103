"""Export the best programs: each as a runnable .py file plus a JSON file with its
metrics and lineage, so it can be re-scored independently (``evolve score FILE PROBLEM``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from evolve.archive.store import Archive

if TYPE_CHECKING:
    from evolve.api import Campaign


def _lineage(archive: Archive, program_id: int) -> list[dict]:
    return [
        {
            "id": p.id,
            "operator": p.operator,
            "objective": p.objective,
            "island": p.island,
            "generation": p.generation,
            "thought": p.thought,
        }
        for p in archive.lineage(program_id)
    ]


def export_programs(campaign: Campaign, out_dir: str, top: int = 5, diverse: bool = False) -> list[Path]:
    from evolve.api import score_trust

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problem = campaign.problem
    written: list[Path] = []
    seen: set[str] = set()
    candidates = campaign.diverse_elites(top) if diverse else campaign.archive.best(campaign.info.id, top * 4)
    for program in candidates:
        if program.code_hash in seen:  # migrants and seed copies share code: export it once
            continue
        seen.add(program.code_hash)
        rank = len(seen)
        stem = f"{rank:03d}_{problem.name}_{program.id}"
        py = out / f"{stem}.py"
        py.write_text(program.code)
        meta = {
            "campaign": campaign.name,
            "problem": problem.name,
            "problem_source": problem.source,
            "case_set": campaign.config.case_set,
            "program_id": program.id,
            "rank": rank,
            "objective": {"name": problem.objective, "direction": problem.direction, "value": program.objective},
            "metrics": program.metrics,
            "operator": program.operator,
            "model": program.model,
            "island": program.island,
            "generation": program.generation,
            "parent_ids": program.parent_ids,
            "lineage": _lineage(campaign.archive, program.id),
            "scores": score_trust(problem)["scores"],
            "scores_hint": score_trust(problem)["scores_hint"],
            "rescore": f"evolve score {py.name} {problem.source or problem.name}"
            + (f" --case-set {campaign.config.case_set}" if campaign.config.case_set else ""),
        }
        (out / f"{stem}.json").write_text(json.dumps(meta, indent=2))
        written.append(py)
        if rank >= top:
            break
    return written
