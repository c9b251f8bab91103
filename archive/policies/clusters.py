"""FunSearch-style parent choice: signature clusters with Boltzmann sampling.

Programs whose per-case scores are identical form a cluster (they behave the same on
every case). A parent is chosen in two steps, as in FunSearch: a cluster with
probability softmax(score / T), where the temperature decays with the island's size,
``T = t_init * (1 - (n mod period) / period)``; then a program within the cluster,
preferring shorter code: softmax(-(len - min_len) / (max_len + 1e-6)).

The signature is read from a program's metrics, the keys ``case:<i>`` in numeric order
(problems put per-case scores there); a program without them is a cluster of its own
fitness. Pass ``signature=`` to use something else. A cluster's score is its members'
best fitness. Candidates are the island's ``pool`` fittest visible programs.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import bindparam, func, select

from evolve.archive.models import PROGRAMS
from evolve.archive.records import restore_floats

_P = PROGRAMS
_CASE = re.compile(r"^case:(\d+)$")
_POOL = select(_P.c.id, _P.c.fitness, _P.c.metrics, func.length(_P.c.code).label("length")).where(
    _P.c.campaign_id == bindparam("cid"), _P.c.island == bindparam("isl"), _P.c.status == "ok"
)


def case_signature(metrics: Mapping[str, Any], fitness: float) -> tuple:
    cases = sorted((int(m.group(1)), v) for key, v in metrics.items() if (m := _CASE.match(key)))
    if not cases:
        return ("fitness", fitness)
    return tuple(round(float(v), 9) for _, v in cases)


def softmax(values: list[float], temperature: float) -> list[float]:
    t = max(temperature, 1e-12)
    top = max(values)
    w = [math.exp((v - top) / t) for v in values]
    total = math.fsum(w)
    return [x / total for x in w]


def _pick(rng: random.Random, probs: list[float]) -> int:
    r, acc = rng.random(), 0.0
    for i, p in enumerate(probs):
        acc += p
        if r < acc:
            return i
    return len(probs) - 1


def temperature(n_programs: int, t_init: float = 0.1, period: int = 30_000) -> float:
    return t_init * (1.0 - (n_programs % period) / period)


def choose_funsearch(
    conn,
    campaign_id: int,
    island: int,
    k: int,
    rng: random.Random,
    max_born_at: int | None,
    opts: Mapping[str, Any],
    island_size: int,
) -> list[int]:
    q = _POOL
    params = {"cid": campaign_id, "isl": island, "lim": int(opts["pool"])}
    if max_born_at is not None:
        q = q.where(_P.c.born_at <= bindparam("mb"))
        params["mb"] = max_born_at
    q = q.order_by(_P.c.fitness.desc(), _P.c.born_at, _P.c.id).limit(bindparam("lim"))
    signature: Callable[[Mapping[str, Any], float], tuple] = opts["signature"] or case_signature
    clusters: dict[tuple, list[tuple[int, float, int]]] = {}
    for row in conn.execute(q, params):  # fittest first, so cluster order is deterministic
        clusters.setdefault(signature(restore_floats(row.metrics), row.fitness), []).append(
            (int(row.id), float(row.fitness), int(row.length or 0))
        )
    pools = list(clusters.values())
    t = temperature(island_size, float(opts["t_init"]), int(opts["period"]))
    chosen: list[int] = []
    # One program per cluster; only when every cluster gave one does a second round
    # start (so k distinct programs come back whenever the pool has k).
    while len(chosen) < k and any(pools):
        round_ = [i for i, g in enumerate(pools) if g]
        while round_ and len(chosen) < k:
            i = round_.pop(_pick(rng, softmax([max(f for _, f, _ in pools[i]) for i in round_], t)))
            members = pools[i]
            lengths = [n for _, _, n in members]
            lo, hi = min(lengths), max(lengths)
            probs = softmax([-(n - lo) / (hi + 1e-6) for n in lengths], 1.0)
            chosen.append(members.pop(_pick(rng, probs))[0])
    return chosen
