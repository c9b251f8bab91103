"""Runs inside the sandbox: a peer engine's evaluator, unchanged, on the candidate.

The case carries the problem folder's files and stand-ins for the peers' helper
packages. The folder is laid out under ``task/`` in the sandbox's working directory, the
evaluator is imported from there, and it is called the way its own engine calls it:

- OpenEvolve: ``evaluate(program_path)`` (or the cascade ``evaluate_stage1..3``), which
  returns a dict of metrics or an EvaluationResult-like object (metrics + artifacts);
- ShinkaEvolve: ``main(program_path, results_dir)`` (or the script run as
  ``evaluate.py --program_path P --results_dir R``), which writes ``metrics.json`` and
  ``correct.json``.

What it returns is whatever the evaluator reported, made JSON-safe. It is a claim: the
candidate shares this process and the evaluator trusts the candidate.
"""

import base64
import importlib.util
import json
import math
import os
import runpy
import sys

_TEXT_LIMIT = 20000


def _write_tree(root, files):
    for rel, content in files.items():
        path = os.path.join(root, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = base64.b64decode(content["b64"]) if "b64" in content else content["text"].encode()
        with open(path, "wb") as f:
            f.write(data)


def _plain(value, depth=0):
    """JSON-safe copy: numbers stay numbers (non-finite ones become strings), the rest text."""
    if depth > 6:
        return str(value)[:200]
    if isinstance(value, bool) or value is None:
        return value
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value[:_TEXT_LIMIT]
    if isinstance(value, bytes):
        return value[:_TEXT_LIMIT].decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in list(value)[:200]]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return _plain(tolist(), depth + 1)
    return str(value)[:2000]


def _import(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _unpack(result):
    """(metrics, artifacts) from a dict or an EvaluationResult-like object."""
    if isinstance(result, dict):
        return result, {}
    if hasattr(result, "metrics"):
        return dict(result.metrics or {}), dict(getattr(result, "artifacts", None) or {})
    if callable(getattr(result, "to_dict", None)):
        return dict(result.to_dict()), {}
    raise TypeError(f"the evaluator returned a {type(result).__name__}, not a dict or EvaluationResult")


def _openevolve(evaluator, program_path):
    evaluate = getattr(evaluator, "evaluate", None)
    if callable(evaluate):
        return _unpack(evaluate(program_path))
    metrics, artifacts = {}, {}
    stages = [getattr(evaluator, f"evaluate_stage{i}", None) for i in (1, 2, 3)]
    if not callable(stages[0]):
        raise AttributeError("the evaluator defines neither evaluate(program_path) nor evaluate_stage1(program_path)")
    for stage in stages:
        if callable(stage):
            m, a = _unpack(stage(program_path))
            metrics.update(m)
            artifacts.update(a)
    return metrics, artifacts


def _shinka(evaluator, evaluator_path, program_path, results_dir):
    main = getattr(evaluator, "main", None)
    returned = None
    if callable(main):
        returned = main(program_path, results_dir)
    else:
        argv = sys.argv
        sys.argv = [evaluator_path, "--program_path", program_path, "--results_dir", results_dir]
        try:
            runpy.run_path(evaluator_path, run_name="__main__")
        except SystemExit as e:
            if e.code not in (None, 0):
                raise
        finally:
            sys.argv = argv
    metrics: dict = {}
    correct: dict = {}
    for name, into in (("metrics.json", metrics), ("correct.json", correct)):
        path = os.path.join(results_dir, name)
        if os.path.isfile(path):
            with open(path) as f:
                loaded = json.load(f)
            if isinstance(loaded, dict):
                into.update(loaded)
    if not metrics and isinstance(returned, tuple) and returned and isinstance(returned[0], dict):
        metrics = dict(returned[0])  # main returned (metrics, correct, error) but wrote nothing
        if len(returned) > 1 and "correct" not in correct:
            correct["correct"] = bool(returned[1])
        if len(returned) > 2 and returned[2]:
            correct.setdefault("error", str(returned[2]))
    elif not metrics and isinstance(returned, dict):
        metrics = dict(returned)
    return metrics, correct


def run(program, case):
    base = os.getcwd()
    task = os.path.join(base, "task")
    _write_tree(task, case["files"])
    shims = os.path.join(base, "_evolve_shims")
    _write_tree(shims, {rel: {"text": text} for rel, text in case["shims"].items()})
    sys.path.append(shims)  # last: a real installed openevolve / shinka wins
    sys.path.insert(0, task)
    program_path = os.path.join(base, case["program_name"])
    with open(os.path.abspath(program.__file__)) as f:
        code = f.read()
    with open(program_path, "w") as f:
        f.write(code)
    evaluator_path = os.path.join(task, case["evaluator"])
    os.chdir(task)
    evaluator = _import(evaluator_path, "evaluation_module")
    if case["kind"] == "openevolve":
        metrics, artifacts = _openevolve(evaluator, program_path)
        return {"metrics": _plain(metrics), "artifacts": _plain(artifacts)}
    results_dir = os.path.join(base, "results")
    os.makedirs(results_dir, exist_ok=True)
    metrics, correct = _shinka(evaluator, evaluator_path, program_path, results_dir)
    return {"metrics": _plain(metrics), "correct": _plain(correct)}
