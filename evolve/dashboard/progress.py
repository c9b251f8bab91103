"""Progress series: best and median score against evaluations, wall time and dollars,
per island and overall; failures by kind, proposal rate, duplicate and reject rates.

Everything is computed from a ``Frame`` (numpy) and binned into at most ``bins``
points in storage order, so a chart of 100,000 programs ships a few hundred points.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evolve.dashboard.columns import EVALUATED, FAILED, Frame


def direction(frame: Frame) -> int:
    """+1 when the objective is maximised, -1 when minimised (fitness = sign * objective)."""
    ok = frame.is_("status", "ok") & np.isfinite(frame.cols["objective"]) & (frame.cols["objective"] != 0)
    if not ok.any():
        return 1
    i = int(np.argmax(ok))
    return 1 if frame.cols["fitness"][i] * frame.cols["objective"][i] >= 0 else -1


def bin_ends(n: int, bins: int) -> np.ndarray:
    """Indices (exclusive ends) that split ``n`` rows into at most ``bins`` equal runs."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.linspace(0, n, min(bins, n) + 1)[1:].round().astype(np.int64))


def _clean(a: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in a]


def _running_best(fitness: np.ndarray, ok: np.ndarray) -> np.ndarray:
    f = np.where(ok, fitness, -np.inf)
    return np.maximum.accumulate(f) if len(f) else f


def _bin_medians(values: np.ndarray, mask: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Median of ``values[mask]`` within each bin (NaN for an empty bin), vectorised:
    sort by (bin, value) once and pick each bin's middle."""
    rows = np.nonzero(mask)[0]
    out = np.full(len(ends), np.nan)
    if not len(rows):
        return out
    bins = np.searchsorted(ends, rows, side="right")
    order = np.lexsort((values[rows], bins))
    ordered, bins = values[rows][order], bins[order]
    counts = np.bincount(bins, minlength=len(ends))[: len(ends)]
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    lo = ordered[(first + (counts - 1) // 2)[has]]
    hi = ordered[(first + counts // 2)[has]]
    out[has] = (lo + hi) / 2
    return out


def progress(frame: Frame, bins: int = 400) -> dict[str, Any]:
    c = frame.cols
    n = len(frame)
    sign = direction(frame)
    ok = frame.is_("status", "ok") & np.isfinite(c["fitness"])
    child = c["seq"] >= 0
    evaluated = child & frame.is_("status", *EVALUATED)
    ends = bin_ends(n, bins)
    starts = np.concatenate([[0], ends[:-1]]) if len(ends) else ends
    last = ends - 1
    t0 = np.nanmin(c["created_at"]) if n else 0.0
    cum_eval = np.cumsum(evaluated)
    cum_cost = np.cumsum(np.nan_to_num(c["cost"]))
    best = _running_best(c["fitness"], ok)

    def per_bin(mask: np.ndarray) -> np.ndarray:
        cs = np.concatenate([[0], np.cumsum(mask)])
        return cs[ends] - cs[starts]

    proposals = per_bin(child)
    medians = _bin_medians(c["objective"], ok & child, ends)
    # time each bin covers: from the previous bin's last row (the first bin: the first row)
    t_end = c["created_at"][last] if len(ends) else np.zeros(0)
    span = np.diff(np.concatenate([[t0], t_end])) if len(ends) else np.zeros(0)
    span = np.where(span > 0, span, np.nan)
    islands: dict[str, list[float | None]] = {}
    for island in np.unique(c["island"]).tolist()[:64]:
        on = c["island"] == island
        islands[str(island)] = _clean(sign * _running_best(c["fitness"], ok & on)[last])
    failures = {kind: per_bin(frame.is_("status", kind) & child).tolist() for kind in FAILED}
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = {
            "proposals_per_min": _clean(proposals / span * 60.0),
            "evaluations_per_min": _clean(per_bin(evaluated) / span * 60.0),
            "duplicate_rate": _clean(per_bin(frame.is_("status", "duplicate") & child) / proposals),
            "reject_rate": _clean(per_bin(frame.is_("status", "rejected") & child) / proposals),
            "failure_rate": _clean(per_bin(frame.is_("status", *FAILED) & child) / proposals),
        }
    return {
        "direction": "max" if sign > 0 else "min",
        "n": n,
        "x": {
            "evaluations": cum_eval[last].tolist(),
            "wall_s": _clean(c["created_at"][last] - t0),
            "dollars": _clean(cum_cost[last]),
        },
        "best": _clean(sign * best[last]),
        "median": _clean(medians),
        "islands": islands,
        "failures": failures,
        "proposals": proposals.tolist(),
        "rates": rates,
        "totals": {
            "programs": n,
            "proposals": int(child.sum()),
            "evaluations": int(evaluated.sum()),
            "ok": int((ok & child).sum()),
            "failed": int((frame.is_("status", *FAILED) & child).sum()),
            "rejected": int((frame.is_("status", "rejected") & child).sum()),
            "duplicates": int((frame.is_("status", "duplicate") & child).sum()),
            "cost": float(cum_cost[-1]) if n else 0.0,
            "wall_s": float(np.nanmax(c["created_at"]) - t0) if n else 0.0,
        },
    }


def operators(frame: Frame, bins: int = 60) -> dict[str, Any]:
    """Per operator x model: proposals, success rate, mean improvement over the first
    parent (in fitness units: positive is better), improvement per dollar; and each
    model's share of proposals over time (what an ensemble or bandit chose)."""
    c = frame.cols
    child = c["seq"] >= 0
    ok = frame.is_("status", "ok") & np.isfinite(c["fitness"])
    parent = frame.index_of(c["parent0"])
    parent_fit = np.where(parent >= 0, c["fitness"][np.maximum(parent, 0)], np.nan)
    gain = np.where(child & ok & np.isfinite(parent_fit), c["fitness"] - parent_fit, np.nan)
    n_models = len(frame.vocab["model"]) + 1
    pair = c["operator"].astype(np.int64) * n_models + c["model"]
    rows = []
    for key, g in _groups(frame, pair, child, ok, gain).items():
        op, model = divmod(key, n_models)
        rows.append({"operator": frame.vocab["operator"][op], "model": frame.vocab["model"][model] or None, **g})
    rows.sort(key=lambda r: (r["operator"], r["model"] or ""))
    models = [
        {"operator": None, "model": frame.vocab["model"][m] or None, **g}
        for m, g in _groups(frame, c["model"].astype(np.int64), child, ok, gain).items()
    ]
    ends = bin_ends(len(frame), bins)
    starts = np.concatenate([[0], ends[:-1]]) if len(ends) else ends
    cum_child = np.concatenate([[0], np.cumsum(child)])
    total = (cum_child[ends] - cum_child[starts]).astype(float)
    share: dict[str, list[float | None]] = {}
    for g in models:
        i = frame.vocab["model"].index(g["model"] or "")
        cum = np.concatenate([[0], np.cumsum(child & (c["model"] == i))])
        with np.errstate(divide="ignore", invalid="ignore"):
            share[g["model"] or "(no model)"] = _clean((cum[ends] - cum[starts]) / total)
    return {
        "rows": rows,
        "models": models,
        "share": {"x": (cum_child[ends]).tolist(), "series": share},
        "bandit_recorded": False,
    }


def _groups(frame: Frame, key: np.ndarray, child: np.ndarray, ok: np.ndarray, gain: np.ndarray) -> dict[int, dict]:
    """The statistics of ``operators`` for each value of ``key`` among proposals."""
    c = frame.cols
    keys, inverse = np.unique(key[child], return_inverse=True)
    n = len(keys)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=mask[child].astype(float), minlength=n)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=np.nan_to_num(values[child]), minlength=n)

    proposals = np.bincount(inverse, minlength=n)
    has_gain = np.isfinite(gain)
    n_gain, sum_gain = count(has_gain), total(np.where(has_gain, gain, 0.0))
    improved, positive = count(has_gain & (gain > 0)), total(np.clip(np.where(has_gain, gain, 0.0), 0, None))
    cost = total(c["cost"])
    tokens = total(c["input_tokens"].astype(float) + c["output_tokens"])
    stats = {
        "ok": count(ok),
        "failed": count(frame.is_("status", *FAILED)),
        "rejected": count(frame.is_("status", "rejected")),
        "duplicates": count(frame.is_("status", "duplicate")),
    }
    out = {}
    for j, k in enumerate(keys.tolist()):
        out[int(k)] = {
            "proposals": int(proposals[j]),
            **{name: int(v[j]) for name, v in stats.items()},
            "success_rate": float(stats["ok"][j] / proposals[j]),
            "mean_improvement": float(sum_gain[j] / n_gain[j]) if n_gain[j] else None,
            "improved_rate": float(improved[j] / n_gain[j]) if n_gain[j] else None,
            "cost": float(cost[j]),
            "tokens": int(tokens[j]),
            "improvement_per_dollar": float(positive[j] / cost[j]) if cost[j] > 0 else None,
        }
    return out


def score_clusters(frame: Frame, bins: int = 60) -> dict[str, Any]:
    """Clusters of equal score over time (FunSearch groups programs that score the same):
    how many there are and the largest one's size, at each point of the campaign."""
    c = frame.cols
    ok = frame.is_("status", "ok") & np.isfinite(c["fitness"])
    ends = bin_ends(len(frame), bins)
    okidx = np.nonzero(ok)[0]
    _, inverse = np.unique(np.round(c["fitness"][okidx], 9), return_inverse=True)
    x, count, largest = [], [], []
    cum_eval = np.cumsum(c["seq"] >= 0)
    for e in ends:
        k = int(np.searchsorted(okidx, e))
        sizes = np.bincount(inverse[:k]) if k else np.zeros(1, dtype=np.int64)
        count.append(int((sizes > 0).sum()))
        largest.append(int(sizes.max()))
        x.append(int(cum_eval[e - 1]))
    return {"x": x, "clusters": count, "largest": largest}
