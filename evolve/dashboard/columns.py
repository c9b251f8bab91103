"""A campaign's programs as numpy columns, kept in memory and followed incrementally.

The first read pages through the whole campaign once; later refreshes read only new
rows, so every chart at 100,000 programs is numpy work on arrays already here.

Which rows are new: on SQLite writers are serialised, so rows commit in id order and a
refresh reads ``id > max id seen``. On PostgreSQL a transaction may commit after a later
id did (ids come from a sequence at insert time), so a refresh re-reads from ``floor``:
the largest id among rows created more than ``TAIL`` seconds before the newest row seen
(their writers' transactions are long over), and skips the ids it already has.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from evolve.archive.views import COLUMNS, ArchiveReader
from evolve.constants import STATUSES

TAIL = 10.0
PAGE = 50_000
EVALUATED = ("ok", "error", "timeout", "invalid")
FAILED = ("error", "timeout", "invalid")

_FLOAT = ("objective", "fitness", "cost", "eval_time", "created_at")
_INT = ("id", "seq", "island", "input_tokens", "output_tokens", "generation", "parent0", "parent1")
_CODED = ("status", "operator", "model")  # strings stored as small ints into a vocabulary


@dataclass
class Frame:
    """Every program of a campaign, one array per column, in id (storage) order.
    ``seq``/``parent0``/``parent1`` are -1 where the archive has none; coded columns
    index into ``vocab[name]``."""

    cols: dict[str, np.ndarray]
    vocab: dict[str, list[str]]

    def __len__(self) -> int:
        return len(self.cols["id"])

    def code(self, column: str, value: str) -> int:
        vocab = self.vocab[column]
        return vocab.index(value) if value in vocab else -1

    def is_(self, column: str, *values: str) -> np.ndarray:
        table = np.zeros(len(self.vocab[column]) + 1, dtype=bool)
        for v in values:
            if (code := self.code(column, v)) >= 0:
                table[code] = True
        return table[self.cols[column]]

    def labels(self, column: str) -> np.ndarray:
        return np.asarray(self.vocab[column] + [""], dtype=object)[self.cols[column]]

    def index_of(self, ids: np.ndarray) -> np.ndarray:
        """Row index of each id (-1 where unknown)."""
        sid = self.cols["id"]  # sorted: the frame is kept in id order
        pos = np.searchsorted(sid, ids)
        pos = np.clip(pos, 0, max(len(sid) - 1, 0))
        found = (len(sid) > 0) & (sid[pos] == ids) if len(sid) else np.zeros(len(ids), bool)
        return np.where(found, pos, -1)


class ColumnCache:
    """The ``Frame`` of one campaign, refreshed on demand (thread-safe)."""

    def __init__(self, reader: ArchiveReader, campaign_id: int):
        self.reader, self.campaign_id = reader, campaign_id
        self._lock = threading.Lock()
        self._vocab: dict[str, list[str]] = {name: [] for name in _CODED}
        self._vocab["status"] = list(STATUSES)
        self._frame = Frame({name: np.zeros(0, _dtype(name)) for name in COLUMNS}, self._vocab)
        self.version = 0
        """Bumped whenever rows are added (derived results cache on it)."""

    def frame(self) -> Frame:
        with self._lock:
            self._refresh()
            return self._frame

    def _floor(self) -> int | None:
        cols = self._frame.cols
        if not len(cols["id"]):
            return None
        if self.reader.dialect == "sqlite":
            return int(cols["id"][-1])
        created = cols["created_at"]
        old = created < np.nanmax(created) - TAIL
        return int(cols["id"][old].max()) if old.any() else int(cols["id"].min()) - 1

    def _refresh(self) -> None:
        after = self._floor()
        pages: list[dict[str, np.ndarray]] = []
        while True:
            page = self.reader.program_columns(self.campaign_id, after_id=after, limit=PAGE)
            if not page["id"]:
                break
            pages.append(self._encode(page))
            if len(page["id"]) < PAGE:
                break
            after = page["id"][-1]
        if not pages:
            return
        new = {name: np.concatenate([p[name] for p in pages]) for name in COLUMNS}
        known = self._frame.cols["id"]
        fresh = ~np.isin(new["id"], known[known > (new["id"].min() - 1)])
        if not fresh.any():
            return
        cols = {name: np.concatenate([self._frame.cols[name], new[name][fresh]]) for name in COLUMNS}
        if len(known) and new["id"][fresh].min() < known.max():  # a late commit: restore id order
            order = np.argsort(cols["id"], kind="stable")
            cols = {name: a[order] for name, a in cols.items()}
        self._frame = Frame(cols, self._vocab)
        self.version += 1

    def _encode(self, page: dict[str, list[Any]]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for name in _FLOAT:  # None becomes NaN
            out[name] = np.array(page[name], dtype=np.float64)
        for name in _INT:  # the reader sends -1 for a missing seq or parent
            out[name] = np.array(page[name], dtype=np.int64)
        for name in _CODED:
            vocab = self._vocab[name]
            index = {v: i for i, v in enumerate(vocab)}
            codes = np.empty(len(page[name]), dtype=np.int32)
            for i, v in enumerate(page[name]):
                v = v or ""
                if v not in index:
                    index[v] = len(vocab)
                    vocab.append(v)
                codes[i] = index[v]
            out[name] = codes
        return out


def _dtype(name: str):
    return np.float64 if name in _FLOAT else np.int64 if name in _INT else np.int32
