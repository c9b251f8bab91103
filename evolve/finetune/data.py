"""Datasets for fine-tuning the operator model, built from a campaign's own traces.

- SFT (SOAR): prompt -> response pairs whose child improved on its parent, with the
  prompt's Target line relabelled to what the child achieved; near-duplicate programs
  dropped; the best examples balanced with a spread over the rest.
- DPO (EvoTune): chosen/rejected pairs among children of the *same* prompt only.
- GRPO (ThetaEvolve/CALM): the prompts, with the parent the reward compares against.

Records use trl's conversational formats: ``{"prompt": [msgs], "completion": [msg]}``,
``{"prompt", "chosen", "rejected"}`` and ``{"prompt", "parent_code", "parent_fitness"}``.
Each record's provenance is kept beside it in ``meta`` (dumped, never trained on).
"""

from __future__ import annotations

import difflib
import functools
import json
import logging
import os
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evolve.archive.dedup import normalize
from evolve.finetune.hindsight import objective_name_of, relabel
from evolve.finetune.records import FAILED, CampaignData, DatasetTooSmall, FinetuneError, ProgramView, prompt_key

log = logging.getLogger(__name__)

Method = Literal["sft", "dpo", "grpo"]
METHODS = ("sft", "dpo", "grpo")
DEFAULT_MIN_EXAMPLES = 8


@dataclass
class FinetuneDataset:
    method: str
    records: list[dict[str, Any]]
    meta: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    def require(self, min_examples: int = DEFAULT_MIN_EXAMPLES) -> FinetuneDataset:
        """Raise DatasetTooSmall unless there are at least ``min_examples`` records."""
        if len(self.records) < max(1, min_examples):
            raise DatasetTooSmall(
                f"{self.method} dataset has {len(self.records)} examples, fewer than the minimum {min_examples}: "
                "run the campaign longer (more improving children / siblings), or lower --min-examples"
            )
        return self

    def dump(self, path: str | os.PathLike[str]) -> Path:
        """Write one JSON object per line: the record plus its ``meta``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as f:
            for i, rec in enumerate(self.records):
                row = dict(rec)
                row["meta"] = self.meta[i] if i < len(self.meta) else {}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        log.info("wrote %d %s examples to %s", len(self.records), self.method, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str], method: str) -> FinetuneDataset:
        records, meta = [], []
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                meta.append(row.pop("meta", {}))
                records.append(row)
        return cls(method, records, meta)


def assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


_normal = functools.lru_cache(maxsize=4096)(normalize)  # seen() then add() on the same code


def similarity(a: str, b: str) -> float:
    """difflib's ratio, computed line by line first: equal lines match whole, and only
    the replaced runs are compared character by character. Close to the character-level
    ratio for local edits, and hundreds of times faster on real programs."""
    la, lb = a.splitlines(keepends=True), b.splitlines(keepends=True)
    matched = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, la, lb, autojunk=False).get_opcodes():
        if op == "equal":
            matched += sum(len(x) for x in la[i1:i2])
        elif op == "replace":
            sm = difflib.SequenceMatcher(None, "".join(la[i1:i2]), "".join(lb[j1:j2]), autojunk=False)
            matched += sum(block.size for block in sm.get_matching_blocks())
    total = len(a) + len(b)
    return 2.0 * matched / total if total else 1.0


class NearDuplicates:
    """Remembers kept programs; ``seen(code)`` says whether a new one is (nearly) a copy.

    Exact copies are caught on the normal form (``evolve.archive.dedup.normalize``: formatting
    and comments ignored). Near copies: difflib similarity of the normal forms of at
    least ``threshold``. difflib is quadratic and a campaign has thousands of programs,
    so it only runs on kept programs sharing at least ``line_floor`` of their text as
    whole identical lines, found through an index of lines (lines in more than
    ``MAX_POSTINGS`` kept programs, such as imports, are not indexed). An edit that
    touches every line is therefore never called a near copy.
    """

    MAX_POSTINGS = 256

    def __init__(self, threshold: float = 0.95, line_floor: float = 0.5):
        self.threshold = threshold
        self.line_floor = line_floor
        self.kept: list[str] = []
        self.sizes: list[int] = []
        self.hashes: set[str] = set()
        self.index: dict[str, list[tuple[int, int]]] = defaultdict(list)  # line -> [(kept, count)]

    def seen(self, code: str) -> bool:
        norm = _normal(code)
        if norm in self.hashes:
            return True
        if self.threshold >= 1.0:
            return False
        shared: dict[int, int] = defaultdict(int)
        boilerplate = 0  # text of lines too common to index per program (imports, signatures)
        for line, n in Counter(norm.splitlines()).items():
            postings = self.index.get(line, ())
            if len(postings) > self.MAX_POSTINGS:
                boilerplate += n * (len(line) + 1)
                continue
            for k, m in postings:
                shared[k] += (n if n < m else m) * (len(line) + 1)
        size = len(norm) + 1
        for k, common in shared.items():
            # Boilerplate may be shared with anyone: counting it all keeps this an upper bound.
            if 2 * (common + boilerplate) < self.line_floor * (size + self.sizes[k]):
                continue
            if similarity(norm, self.kept[k]) >= self.threshold:
                return True
        return False

    def add(self, code: str) -> None:
        norm = _normal(code)
        k = len(self.kept)
        self.hashes.add(norm)
        self.kept.append(norm)
        self.sizes.append(len(norm) + 1)
        for line, n in Counter(norm.splitlines()).items():
            self.index[line].append((k, n))


def _fitness(program: ProgramView) -> float:
    """A program's fitness for ordering (programs without one sort last)."""
    return program.fitness if program.fitness is not None else float("-inf")


def spread_order(n: int, k: int) -> list[int]:
    """Indices of ``n`` sorted items: ``k`` evenly spaced ones first (covering the
    bottom), then the rest in order, so greedy filling stays spread when some are skipped."""
    if n <= 0:
        return []
    k = max(0, min(k, n))
    first: list[int] = []
    if k == 1:
        first = [n - 1]
    elif k > 1:
        first = sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})
    chosen = set(first)
    return first + [i for i in range(n) if i not in chosen]


def build_sft(
    data: CampaignData,
    *,
    improving_only: bool = True,
    max_examples: int | None = None,
    top_fraction: float = 0.5,
    dedup_threshold: float = 0.95,
    objective_name: str | None = None,
    hindsight: bool = True,
) -> FinetuneDataset:
    """SOAR-style SFT examples from a campaign's propose calls.

    Kept: children with status ok whose fitness beats their best parent's (any ok child
    when ``improving_only`` is False; a child of failed/unscored parents counts as an
    improvement). Ordered best first; with ``max_examples``, ``top_fraction`` of them are
    the best and the rest are spread evenly over the remainder down to the worst, so the
    model also sees modest steps. Near-duplicate programs keep only their best copy.
    """
    candidates = []
    for call, child in data.proposals():
        if child.status != "ok" or child.fitness is None or call.response is None:
            continue
        parent = data.parent_fitness(child)
        if improving_only and parent is not None and not child.fitness > parent:
            continue
        candidates.append((call, child, parent))
    candidates.sort(key=lambda c: (-_fitness(c[1]), c[1].id))

    limit = len(candidates) if max_examples is None else max(0, max_examples)
    n_top = min(limit, round(limit * top_fraction))
    order = list(range(min(n_top, len(candidates))))
    rest = candidates[len(order) :]
    order += [len(order) + i for i in spread_order(len(rest), limit - len(order))]

    dedup = NearDuplicates(dedup_threshold)
    records: list[dict[str, Any]] = []
    meta: list[dict[str, Any]] = []
    skipped = 0
    for idx in order:
        if len(records) >= limit:
            break
        call, child, parent = candidates[idx]
        if dedup.seen(child.code):
            skipped += 1
            continue
        dedup.add(child.code)
        prompt = call.prompt
        if hindsight:
            achieved = child.objective if child.objective is not None else _fitness(child)
            name = objective_name or objective_name_of(prompt)
            prompt = relabel(prompt, achieved, name)
        records.append({"prompt": prompt, "completion": assistant(call.response or "")})
        meta.append(
            {
                "program_id": child.id,
                "parent_ids": child.parent_ids,
                "fitness": child.fitness,
                "parent_fitness": parent,
                "objective": child.objective,
                "model": call.model,
            }
        )
    log.info("sft: %d candidates, %d kept, %d near-duplicates dropped", len(candidates), len(records), skipped)
    return FinetuneDataset("sft", records, meta)


def build_dpo(data: CampaignData, *, max_pairs_per_prompt: int = 16, min_margin: float = 0.0) -> FinetuneDataset:
    """EvoTune-style preference pairs, only among siblings of one prompt.

    Siblings share the same parents and the same prompt text. Within a group: each child
    of the better half of the passing ones beats each of the worse half (by more than
    ``min_margin``), and every passing child beats every failing one (error, timeout,
    invalid, rejected). Identical responses never pair. At most ``max_pairs_per_prompt``
    pairs per group, widest fitness gaps first among the passing pairs.
    """
    groups: dict[tuple, list] = defaultdict(list)
    for call, child in data.proposals():
        groups[(tuple(child.parent_ids), prompt_key(call.prompt))].append((call, child))

    records, meta = [], []
    for (parents, _), members in sorted(groups.items(), key=lambda kv: min(c.id for _, c in kv[1])):
        passing = sorted(
            [m for m in members if m[1].status == "ok" and m[1].fitness is not None],
            key=lambda m: (-m[1].fitness, m[1].id),
        )
        failing = sorted([m for m in members if m[1].status in FAILED], key=lambda m: m[1].id)
        half = len(passing) // 2
        better, worse = passing[:half], passing[len(passing) - half :]
        pairs = [(w, lo, "ranked") for w in better for lo in worse if w[1].fitness - lo[1].fitness > min_margin]
        pairs.sort(key=lambda p: (-(p[0][1].fitness - p[1][1].fitness), p[0][1].id, p[1][1].id))
        pairs += [(w, lo, "failed") for w in passing for lo in failing]
        kept = 0
        for (wc, wp), (lc, lp), kind in pairs:
            if kept >= max_pairs_per_prompt:
                break
            if wc.response == lc.response:
                continue
            records.append({"prompt": wc.prompt, "chosen": assistant(wc.response), "rejected": assistant(lc.response)})
            meta.append(
                {
                    "chosen_id": wp.id,
                    "rejected_id": lp.id,
                    "parent_ids": list(parents),
                    "kind": kind,
                    "chosen_fitness": wp.fitness,
                    "rejected_status": lp.status,
                    "rejected_fitness": lp.fitness,
                }
            )
            kept += 1
    log.info("dpo: %d sibling groups, %d pairs", len(groups), len(records))
    return FinetuneDataset("dpo", records, meta)


def build_grpo(data: CampaignData, *, max_prompts: int | None = None) -> FinetuneDataset:
    """GRPO prompts: every distinct recorded proposal prompt with a scored primary parent.

    The reward (``evolve.finetune.reward``) compares a generated child with
    ``parent_code``/``parent_fitness``; best parents first, so a cap keeps the most
    promising starting points.
    """
    seen: set[str] = set()
    rows = []
    for call, child in data.proposals():
        if not child.parent_ids or child.parent_ids[0] not in data.programs:
            continue
        parent = data.programs[child.parent_ids[0]]
        if parent.status != "ok" or parent.fitness is None:
            continue
        key = prompt_key(call.prompt)
        if key in seen:
            continue
        seen.add(key)
        rows.append((parent, call))
    rows.sort(key=lambda r: (-_fitness(r[0]), r[0].id))
    if max_prompts is not None:
        rows = rows[:max_prompts]
    records = [{"prompt": c.prompt, "parent_code": p.code, "parent_fitness": _fitness(p)} for p, c in rows]
    meta = [{"parent_id": p.id, "model": c.model} for p, c in rows]
    log.info("grpo: %d prompts", len(records))
    return FinetuneDataset("grpo", records, meta)


def build_dataset(method: str, data: CampaignData, **opts: Any) -> FinetuneDataset:
    """The dataset for ``method`` ('sft' | 'dpo' | 'grpo') with that builder's options."""
    builders: dict[str, Callable[..., FinetuneDataset]] = {"sft": build_sft, "dpo": build_dpo, "grpo": build_grpo}
    if method not in builders:
        raise FinetuneError(f"unknown fine-tuning method {method!r}: choose one of {', '.join(METHODS)}")
    return builders[method](data, **opts)
