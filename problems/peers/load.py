"""Turn an OpenEvolve or ShinkaEvolve problem folder into a Problem, unchanged.

The folder's evaluator imports the candidate, so it cannot be trusted code: it runs in
the sandbox with the candidate (``harness.py`` beside this file) and what it reports is
taken as a claim. ``score`` below only checks that claim's shape (numbers, the
``correct`` flag, an error message) and picks the objective the way the peer engine
does: ``combined_score`` when present, else the mean of the numeric metrics (OpenEvolve's
rule). The Problem carries ``untrusted_scores``, which status and export show.
"""

from __future__ import annotations

import ast
import base64
import logging
import math
from pathlib import Path
from typing import Any

from evolve.errors import ProblemError
from evolve.problems.contract import InvalidOutput, Metrics, Problem
from evolve.problems.peers.detect import OPENEVOLVE, initial_program_path, peer_kind
from evolve.problems.peers.shims import SHIM_FILES

log = logging.getLogger(__name__)

OBJECTIVE = "combined_score"
UNTRUSTED = "scores reported by an untrusted evaluator"
HINT = (
    "to make the score trusted, add a problem.py next to the evaluator whose score(outputs, cases) "
    "recomputes the metric from the program's raw output outside the sandbox (README: 'Your own problem')"
)
DEFAULT_TIME_LIMIT = 120.0
MAX_FILE_BYTES = 8 * 2**20
MAX_TOTAL_BYTES = 24 * 2**20
_SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", "openevolve_output", "results", "node_modules"}
_SKIP_SUFFIXES = (".pem", ".key", ".db", ".db-wal", ".db-shm", ".db-journal", ".sqlite", ".sqlite3", ".pyc")
"""Keys, and archives (an `evolve run .` inside the folder keeps evolve.db there)."""
_HARNESS = Path(__file__).resolve().with_name("harness.py")
_FEEDBACK_LIMIT = 4000


def load_peer_folder(folder: str | Path) -> Problem:
    """The Problem for an OpenEvolve or ShinkaEvolve folder; ProblemError if it is neither."""
    path = Path(folder).expanduser().resolve()
    kind = peer_kind(path)
    if kind is None:
        raise ProblemError(
            f"{path} is not an OpenEvolve folder (initial_program.py + evaluator.py) "
            "nor a ShinkaEvolve folder (initial.py + evaluate.py)"
        )
    initial = initial_program_path(path, kind)
    assert initial is not None  # peer_kind found it
    if initial.suffix != ".py":
        raise ProblemError(f"{initial} is not Python: Evolve evolves Python programs only")
    try:
        seed = initial.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ProblemError(f"cannot read {initial}: {e}") from None
    evaluator = "evaluator.py" if kind == OPENEVOLVE else "evaluate.py"
    settings = _folder_settings(path, kind)
    case = {
        "kind": kind,
        "files": _files(path),
        "shims": SHIM_FILES,
        "evaluator": evaluator,
        "program_name": initial.name,
    }
    engine = "OpenEvolve" if kind == OPENEVOLVE else "ShinkaEvolve"
    description = (
        settings.get("description")
        or _readme(path)
        or (
            f"A problem folder in {engine}'s format: improve the program so that {evaluator} reports a higher "
            f"{OBJECTIVE}."
        )
    )
    try:
        return Problem(
            name=path.name,
            description=description,
            initial_program=seed,
            harness=_HARNESS.read_text(),
            cases=[case],
            score=score,
            objective=OBJECTIVE,
            direction="max",
            entry_point=_entry_point(seed),
            time_limit=float(settings.get("time_limit") or DEFAULT_TIME_LIMIT),
            feedback=feedback,
            source=str(path),
            untrusted_scores=f"{UNTRUSTED} ({engine} {evaluator})",
        )
    except ProblemError as e:
        raise ProblemError(f"{path}: {e}") from None


def _files(root: Path) -> dict[str, dict[str, str]]:
    """Every file of the folder the evaluator may need, except keys, engine configs (which
    may hold API keys), archives, outputs and caches."""
    files: dict[str, dict[str, str]] = {}
    total = 0
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root)
        if not file.is_file() or any(part in _SKIP_DIRS or part.startswith(".") for part in rel.parts):
            continue
        name = file.name.lower()
        if name.endswith(_SKIP_SUFFIXES) or (name.startswith("config") and name.endswith((".yaml", ".yml"))):
            continue
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            log.warning("%s: skipping %s (%d bytes) for the sandbox copy of the folder", root, rel, size)
            continue
        total += size
        if total > MAX_TOTAL_BYTES:
            raise ProblemError(
                f"{root} holds more than {MAX_TOTAL_BYTES // 2**20} MB of files to copy into every sandbox: "
                "move outputs and large data out of the problem folder"
            )
        data = file.read_bytes()
        try:
            files[rel.as_posix()] = {"text": data.decode("utf-8")}
        except UnicodeDecodeError:
            files[rel.as_posix()] = {"b64": base64.b64encode(data).decode()}
    return files


def _entry_point(seed: str) -> str:
    """The first function defined inside the seed's evolve block (else in the program)."""
    from evolve.problems.blocks import split

    template = split(seed)
    for text in (*template.blocks, seed):
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node.name
    return "main"


def _readme(path: Path) -> str | None:
    for name in ("README.md", "README.txt", "README"):
        file = path / name
        if file.is_file():
            try:
                return file.read_text()[:6000].strip() or None
            except (OSError, UnicodeDecodeError):
                return None
    return None


def _folder_settings(path: Path, kind: str) -> dict[str, Any]:
    """The description and time limit from the folder's own config, where it has one."""
    from evolve.config_import import peer_settings

    for name in ("config.yaml", "config.yml", "shinka.yaml"):
        file = path / name
        if file.is_file():
            try:
                return peer_settings(file)
            except ProblemError as e:
                log.warning("%s: %s; using defaults", file, e)
    return {}


def _numbers(raw: Any, prefix: str = "") -> dict[str, float]:
    """The finite numeric metrics of a report; public/private sections flattened."""
    out: dict[str, float] = {}
    if not isinstance(raw, dict):
        return out
    for key, value in raw.items():
        if isinstance(value, dict) and key in ("public", "private"):
            out.update(_numbers(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[f"{prefix}{key}"] = float(value)
    return out


def score(outputs: list[Any], cases: list[Any]) -> Metrics:
    """Check the evaluator's report and take its metrics (a claim: see the module doc)."""
    if len(outputs) != 1 or not isinstance(outputs[0], dict) or not isinstance(outputs[0].get("metrics"), dict):
        raise InvalidOutput("the evaluator reported no metrics")
    raw = outputs[0]["metrics"]
    correct = outputs[0].get("correct") or {}
    error = correct.get("error") if isinstance(correct, dict) else None
    if isinstance(correct, dict) and correct.get("correct") is False:
        raise InvalidOutput(f"the evaluator marked the program incorrect: {error or 'no reason given'}")
    metrics = _numbers(raw)
    message = raw.get("error")
    if isinstance(raw.get(OBJECTIVE), str):  # a non-finite value arrives as text
        raise InvalidOutput(f"the evaluator reported {OBJECTIVE} = {raw[OBJECTIVE]}")
    if isinstance(message, str) and message.strip() and metrics.get(OBJECTIVE, 0.0) <= 0.0:
        raise InvalidOutput(f"the evaluator reported an error: {message.strip()[:2000]}")
    if OBJECTIVE not in metrics:
        if not metrics:
            raise InvalidOutput("the evaluator reported no numeric metrics")
        metrics[OBJECTIVE] = sum(metrics.values()) / len(metrics)  # OpenEvolve's fallback
    return metrics


def feedback(metrics: Metrics, outputs: list[Any], cases: list[Any]) -> str:
    """The evaluator's own text: Shinka's text_feedback, OpenEvolve's artifacts."""
    out = outputs[0] if outputs and isinstance(outputs[0], dict) else {}
    parts = []
    text = (out.get("metrics") or {}).get("text_feedback")
    if isinstance(text, str) and text.strip():
        parts.append(text.strip())
    for key, value in (out.get("artifacts") or {}).items():
        text = value if isinstance(value, str) else repr(value)
        parts.append(f"{key}: {text}")
    return "\n".join(parts)[:_FEEDBACK_LIMIT]
