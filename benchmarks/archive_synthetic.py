"""A synthetic campaign for the archive benchmark, as an export stream (``evolve db
import``'s format), so a million programs load through the bulk import path.

Programs are spread over islands, ~300 bytes of code each, 90 % ok, one parent each
(uniform among the earlier programs), a 4-number behaviour descriptor around one of a
few hundred behaviours, and five per-case scores (FunSearch signatures: thousands of
clusters). Sampling positions and child counts are computed here exactly as the archive
would have left them, since import copies rows verbatim.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np

from evolve.archive.transfer import FORMAT, VERSION

CODE = '''def priority(item, bins):
    """Score each bin for the item; the highest score wins."""
    import numpy as np
    gaps = bins - item
    score = -gaps * {a:.6f} + np.log1p(np.maximum(gaps, 0)) * {b:.6f}
    return np.where(gaps >= 0, score, -1e9)  # variant {i}
'''


def code_of(i: int, a: float, b: float) -> str:
    return CODE.format(a=a, b=b, i=i)


def campaign_records(name: str, n: int, islands: int, seed: int = 0) -> Iterator[dict]:
    """The records of a campaign of ``n`` programs, born_at = seq = index."""
    rng = np.random.default_rng(seed)
    ok = rng.random(n) < 0.9
    fitness = rng.normal(0.0, 1.0, n)
    parents = np.where(np.arange(n) > 0, (rng.random(n) * np.maximum(np.arange(n), 1)).astype(np.int64), -1)
    children = np.bincount(parents[parents >= 0], minlength=n)
    centres = rng.normal(0.0, 5.0, (300, 4))
    desc = centres[rng.integers(0, 300, n)] + rng.normal(0.0, 1.0, (n, 4))
    cases = np.clip(np.round(fitness[:, None] * 2 + rng.normal(0, 1.0, (n, 5))), -4, 4)
    ab = rng.random((n, 2))
    now = datetime.now(UTC).isoformat()
    yield {"table": "header", "row": {"format": FORMAT, "version": VERSION}}
    yield {
        "table": "campaign",
        "row": dict(
            name=name,
            problem="bench",
            config={"islands": islands},
            status="running",
            state={},
            spent_input_tokens=0,
            spent_output_tokens=0,
            spent_cost=0.0,
            n_calls=0,
            created_at=now,
            updated_at=now,
        ),
    }
    n_ok = np.bincount(np.arange(n)[ok] % islands, minlength=islands)
    for island in range(islands):
        yield {
            "table": "island",
            "row": dict(island=island, state={}, n_ok=int(n_ok[island]), updated_at=now),
        }
    pos = np.zeros(islands, np.int64)
    for i in range(n):
        island = i % islands
        good = bool(ok[i])
        code = code_of(i, ab[i, 0], ab[i, 1])
        row = dict(
            id=i + 1,
            seq=i,
            born_at=i,
            island=island,
            generation=int(i % 50),
            code=code,
            code_hash=hashlib.sha256(code.encode()).hexdigest(),
            parent_ids=[int(parents[i]) + 1] if parents[i] >= 0 else [],
            operator="llm.diff",
            model="bench",
            status="ok" if good else "error",
            reason=None if good else "Traceback: boom",
            metrics={f"case:{c}": float(cases[i, c]) for c in range(5)} | {"bins": 200.0 + float(ab[i, 0])},
            objective=float(fitness[i]) if good else None,
            fitness=float(fitness[i]) if good else None,
            descriptor={f"b{d}": round(float(desc[i, d]), 4) for d in range(4)},
            feedback=None,
            thought=None,
            stdout=None,
            eval_time=0.5,
            proposal_time=1.0,
            input_tokens=1200,
            output_tokens=300,
            cost=0.001,
            duplicate_of=None,
            n_children=int(children[i]),
            ok_pos=int(pos[island]) if good else None,
            created_at=now,
        )
        if good:
            pos[island] += 1
        yield {"table": "program", "row": row}
