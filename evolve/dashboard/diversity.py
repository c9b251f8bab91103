"""Diversity and fine-tuning views.

MAP-Elites: the grid the campaign configured (fixed bins, or CVT centres shown in the
first two descriptor dimensions) with each filled cell's elite, per island. Novelty over
time: for an even sample of ok programs in storage order, the mean distance of each to
its nearest earlier ones in behaviour space (the problem's descriptors where stored,
plus the built-in code descriptors). Clusters: programs of equal score.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from evolve.archive.policies.descriptors import builtin_descriptors
from evolve.archive.views import ArchiveReader, cvt_centroids
from evolve.dashboard.columns import Frame
from evolve.dashboard.progress import bin_ends, direction, score_clusters

NOVELTY_SAMPLE = 400
K_NN = 10

_DESCRIPTORS: dict[int, dict[str, float]] = {}  # program id -> descriptor (programs never change)
_LOCK = threading.Lock()


def map_elites(reader: ArchiveReader, campaign: dict[str, Any]) -> dict[str, Any] | None:
    cells = reader.elite_cells(campaign["id"])
    config = campaign["config"]
    if config.get("selection") != "map_elites" and not cells:
        return None
    grid = config.get("map_elites") or {}
    dims = [list(d) for d in grid.get("dims") or [["code_length", 0.0, 2000.0, 10], ["ast_depth", 0.0, 20.0, 10]]]
    out: dict[str, Any] = {"dims": dims, "cvt_cells": grid.get("cvt_cells"), "cells": []}
    if grid.get("cvt_cells"):
        centres = cvt_centroids([d[0] for d in dims], [d[1] for d in dims], [d[2] for d in dims], grid["cvt_cells"])
        out["kind"] = "cvt"
        out["centres"] = centres
    else:
        out["kind"] = "grid"
    for cell in cells:
        key = str(cell["cell"])
        entry = {k: cell[k] for k in ("grid", "island", "program_id", "fitness", "objective")}
        entry["cell"] = key
        entry["index"] = [int(key[1:])] if key.startswith("c") else [int(x) for x in key.split(",")]
        out["cells"].append(entry)
    out["islands"] = sorted({c["island"] for c in out["cells"]})
    return out


def _descriptors(reader: ArchiveReader, ids: list[int]) -> dict[int, dict[str, float]]:
    with _LOCK:
        missing = [i for i in ids if i not in _DESCRIPTORS]
    fetched = reader.descriptors(missing) if missing else {}
    computed = {}
    for pid, (code, stored) in fetched.items():
        d = builtin_descriptors(code)
        for k, v in (stored or {}).items():
            if isinstance(v, (int, float)) and np.isfinite(v):
                d[k] = float(v)
        computed[pid] = d
    with _LOCK:
        _DESCRIPTORS.update(computed)
        return {i: _DESCRIPTORS[i] for i in ids if i in _DESCRIPTORS}


def novelty(reader: ArchiveReader, frame: Frame, sample: int = NOVELTY_SAMPLE, bins: int = 20) -> dict[str, Any]:
    c = frame.cols
    ok_rows = np.nonzero(frame.is_("status", "ok") & (c["seq"] >= 0))[0]
    if len(ok_rows) < 2:
        return {"x": [], "mean": [], "keys": []}
    rows = ok_rows[np.unique(np.linspace(0, len(ok_rows) - 1, min(sample, len(ok_rows))).round().astype(int))]
    ids = c["id"][rows].tolist()
    desc = _descriptors(reader, ids)
    keys = sorted(set.intersection(*(set(d) for d in desc.values()))) if desc else []
    if not keys:
        return {"x": [], "mean": [], "keys": []}
    m = np.array([[desc[i][k] for k in keys] for i in ids if i in desc], dtype=float)
    std = m.std(axis=0)
    m = m / np.where(std > 0, std, 1.0)
    d2 = ((m[:, None, :] - m[None, :, :]) ** 2).sum(-1)
    scores = np.zeros(len(m))
    for i in range(1, len(m)):
        earlier = np.sqrt(np.sort(d2[i, :i])[:K_NN])
        scores[i] = earlier.mean()
    cum = np.cumsum(c["seq"] >= 0)
    ends = bin_ends(len(m), bins)
    starts = np.concatenate([[0], ends[:-1]])
    return {
        "keys": keys,
        "x": [int(cum[rows[e - 1]]) for e in ends],
        "mean": [float(scores[s:e].mean()) for s, e in zip(starts, ends)],
        "sample": len(m),
    }


def diversity(reader: ArchiveReader, campaign: dict[str, Any], frame: Frame) -> dict[str, Any]:
    return {
        "map_elites": map_elites(reader, campaign),
        "novelty": novelty(reader, frame),
        "clusters": score_clusters(frame),
    }


def finetune(reader: ArchiveReader, campaign: dict[str, Any], frame: Frame) -> dict[str, Any]:
    """Fine-tuning rounds as the archive records them (``finetune`` events), the round's
    ``metrics.json`` where this machine can read it, and what each model produced."""
    rounds = []
    for i, ev in enumerate(reader.events(campaign["id"], kind="finetune"), start=1):
        data = dict(ev.data)
        rounds.append({"round": i, "at": data.get("at"), "model": data.get("model"), "method": data.get("method")})
        rounds[-1]["extra"] = {k: v for k, v in data.items() if k not in ("at", "model", "method")}
        rounds[-1]["metrics"] = _round_metrics(data.get("model"))
    c = frame.cols
    child = c["seq"] >= 0
    ok = frame.is_("status", "ok")
    models = []
    sign = direction(frame)
    for i, name in enumerate(frame.vocab["model"]):
        m = child & (c["model"] == i)
        if not m.any():
            continue
        fit = c["fitness"][m & ok]
        models.append(
            {
                "model": name or None,
                "proposals": int(m.sum()),
                "ok": int((m & ok).sum()),
                "best": float(sign * fit.max()) if len(fit) else None,
                "mean": float(sign * fit.mean()) if len(fit) else None,
                "first_seq": int(c["seq"][m].min()),
                "last_seq": int(c["seq"][m].max()),
            }
        )
    return {"rounds": rounds, "models": models}


def _round_metrics(spec: Any) -> dict[str, Any] | None:
    """Numbers from ``<round>/metrics.json`` beside the merged model, if readable here."""
    if not isinstance(spec, str) or not spec.startswith("hf:"):
        return None
    path = Path(spec[3:]).parent / "metrics.json"
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    numbers = {k: v for k, v in (info.get("metrics") or {}).items() if isinstance(v, (int, float))}
    return {"examples": info.get("examples"), "method": info.get("method"), "metrics": numbers}
