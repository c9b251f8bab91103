"""OpenEvolve and ShinkaEvolve problem folders load unchanged and their evaluators run in
the real sandbox, next to the candidate; what they report is labelled untrusted."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from evolve.errors import ProblemError
from evolve.evaluate import Evaluator
from evolve.problems import load_problem
from evolve.problems.peers import load_peer_folder, peer_kind
from evolve.problems.peers.load import UNTRUSTED
from evolve.sandbox.process import ProcessSandbox

FOLDERS = Path(__file__).resolve().parent / "peer_folders"
OPENEVOLVE = FOLDERS / "openevolve_minimize"
SHINKA = FOLDERS / "shinka_packing"

SEED = '''\
"""A tiny program."""

# EVOLVE-BLOCK-START
def answer():
    return 3.0
# EVOLVE-BLOCK-END
'''


def folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text))
    return root


@pytest.fixture(scope="module")
def sandbox():
    with ProcessSandbox() as sb:
        yield sb


def evaluate(sandbox, problem, code=None):
    return Evaluator(problem, sandbox).evaluate(code or problem.initial_program)


def test_folders_are_recognised(tmp_path):
    assert peer_kind(OPENEVOLVE) == "openevolve"
    assert peer_kind(SHINKA) == "shinka"
    assert peer_kind(tmp_path) is None
    own = folder(tmp_path / "own", {"problem.py": "", "evaluator.py": "", "initial_program.py": SEED})
    assert peer_kind(own) is None  # a problem.py makes it Evolve's own: the trusted path wins
    with pytest.raises(ProblemError, match="no problem.py .*OpenEvolve evaluator.py .*ShinkaEvolve evaluate.py"):
        load_problem(tmp_path)


def test_openevolve_folder_loads_with_its_config_and_no_secrets():
    problem = load_problem(OPENEVOLVE)
    assert problem.name == "openevolve_minimize" and problem.source == str(OPENEVOLVE)
    assert problem.objective == "combined_score" and problem.direction == "max"
    assert problem.entry_point == "search_algorithm"
    assert problem.untrusted_scores == f"{UNTRUSTED} (OpenEvolve evaluator.py)"
    assert problem.time_limit == 30.0  # evaluator.timeout in config.yaml
    assert problem.description.startswith("You improve a search algorithm")
    files = problem.cases[0]["files"]
    assert sorted(files) == ["evaluator.py", "initial_program.py"]  # config.yaml holds an api_key: never copied
    assert problem.template.marked and len(problem.template.blocks) == 1


def test_archives_keys_and_dotfiles_are_not_copied_into_the_sandbox(tmp_path):
    copy = folder(
        tmp_path / "copy",
        {
            "initial_program.py": SEED,
            "evaluator.py": "def evaluate(path):\n    return {'combined_score': 1.0}\n",
            "evolve.db": "archive",
            "evolve.db-wal": "archive",
            ".env": "OPENAI_API_KEY=sk-x",
            "config_fast.yml": "llm: {api_key: sk-x}",
            "server.pem": "key",
            "data.csv": "1,2\n",
        },
    )
    (copy / "sub").mkdir()
    (copy / "sub" / "table.bin").write_bytes(bytes(range(256)))
    files = load_peer_folder(copy).cases[0]["files"]
    assert sorted(files) == ["data.csv", "evaluator.py", "initial_program.py", "sub/table.bin"]
    assert "b64" in files["sub/table.bin"] and files["data.csv"] == {"text": "1,2\n"}


def test_shinka_folder_loads():
    problem = load_problem(SHINKA)
    assert problem.entry_point == "construct_packing"
    assert problem.untrusted_scores == f"{UNTRUSTED} (ShinkaEvolve evaluate.py)"
    assert problem.time_limit == 120.0  # job_config.time 00:02:00
    assert problem.description.startswith("You are packing 8 circles")


def test_openevolve_seed_runs_in_the_sandbox(sandbox):
    problem = load_problem(OPENEVOLVE)
    out = evaluate(sandbox, problem)
    assert out.status == "ok", out.reason
    assert 0.5 < out.metrics["combined_score"] < 1.0
    assert out.metrics["value_score"] == out.metrics["combined_score"]
    assert out.feedback.startswith("point: (") and "gap to the minimum" in out.feedback
    broken = problem.initial_program.replace("return best_x, best_y, best_value", "return best_x")
    out = evaluate(sandbox, problem, broken)
    assert out.status == "invalid"
    assert out.reason.startswith("the evaluator reported an error: TypeError: cannot unpack")


def test_shinka_seed_runs_in_the_sandbox(sandbox):
    problem = load_problem(SHINKA)
    out = evaluate(sandbox, problem)
    assert out.status == "ok", out.reason
    assert out.metrics["combined_score"] == pytest.approx(0.24)
    assert out.metrics["public.sum_radii"] == pytest.approx(0.24)
    assert out.metrics["private.reported_sum"] == pytest.approx(0.24)
    assert out.metrics["num_valid_runs"] == 1.0
    assert out.feedback == "sum of radii 0.2400; the largest circle has radius 0.0300"
    overlapping = problem.initial_program.replace("0.03)", "0.2)")
    out = evaluate(sandbox, problem, overlapping)
    assert out.status == "invalid"
    assert out.reason == (
        "the evaluator marked the program incorrect: Validation failed: a circle sticks out of the unit square"
    )


def test_liberal_openevolve_shapes(sandbox, tmp_path):
    # A plain dict without combined_score: the mean of the numbers, as OpenEvolve does.
    plain = folder(
        tmp_path / "plain",
        {
            "initial_program.py": SEED,
            "evaluator.py": """
                import importlib.util

                def evaluate(program_path):
                    spec = importlib.util.spec_from_file_location("p", program_path)
                    m = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(m)
                    return {"closeness": 1.0 / (1.0 + abs(m.answer() - 5.0)), "speed": 0.5, "note": "text is skipped"}
            """,
        },
    )
    out = evaluate(sandbox, load_peer_folder(plain))
    assert out.status == "ok", out.reason
    assert out.metrics == {"closeness": 1 / 3, "speed": 0.5, "combined_score": pytest.approx((1 / 3 + 0.5) / 2)}
    # A cascade, an object of its own with metrics and artifacts, a helper module beside it.
    cascade = folder(
        tmp_path / "cascade",
        {
            "initial_program.py": SEED,
            "helpers.py": "def target():\n    return 4.0\n",
            "evaluator.py": """
                import importlib.util
                from helpers import target

                class Result:
                    def __init__(self, metrics, artifacts):
                        self.metrics, self.artifacts = metrics, artifacts

                def _load(path):
                    spec = importlib.util.spec_from_file_location("p", path)
                    m = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(m)
                    return m

                def evaluate_stage1(program_path):
                    return {"runs": 1.0}

                def evaluate_stage2(program_path):
                    value = _load(program_path).answer()
                    return Result({"combined_score": -abs(value - target())}, {"stderr": f"answer {value}"})
            """,
        },
    )
    out = evaluate(sandbox, load_peer_folder(cascade))
    assert out.status == "ok", out.reason
    assert out.metrics == {"runs": 1.0, "combined_score": -1.0}
    assert out.feedback == "stderr: answer 3.0"


@pytest.mark.parametrize(
    "body, status, reason",
    [
        ("raise RuntimeError('evaluator broke')", "error", "RuntimeError: evaluator broke"),
        ("return {'combined_score': float('nan')}", "invalid", "combined_score = nan"),
        ("return {'combined_score': 0.0, 'error': 'timed out'}", "invalid", "reported an error: timed out"),
        ("return {'note': 'no numbers'}", "invalid", "no numeric metrics"),
        ("return 42", "error", "returned a int, not a dict or EvaluationResult"),
    ],
)
def test_failing_openevolve_evaluators(sandbox, tmp_path, body, status, reason):
    bad = folder(tmp_path / "bad", {"initial_program.py": SEED, "evaluator.py": f"def evaluate(path):\n    {body}\n"})
    out = evaluate(sandbox, load_peer_folder(bad))
    assert out.status == status and reason in out.reason


def test_shinka_script_without_main_and_without_shinka(sandbox, tmp_path):
    # Run as `evaluate.py --program_path P --results_dir R`, writing its own JSON files.
    script = folder(
        tmp_path / "script",
        {
            "initial.py": SEED,
            "evaluate.py": """
                import argparse, importlib.util, json, os

                if __name__ == "__main__":
                    parser = argparse.ArgumentParser()
                    parser.add_argument("--program_path")
                    parser.add_argument("--results_dir")
                    args = parser.parse_args()
                    spec = importlib.util.spec_from_file_location("p", args.program_path)
                    m = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(m)
                    value = m.answer()
                    with open(os.path.join(args.results_dir, "metrics.json"), "w") as f:
                        json.dump({"combined_score": value, "public": {"value": value}, "text_feedback": "fine"}, f)
                    with open(os.path.join(args.results_dir, "correct.json"), "w") as f:
                        json.dump({"correct": value < 10, "error": None if value < 10 else "too big"}, f)
            """,
        },
    )
    problem = load_peer_folder(script)
    out = evaluate(sandbox, problem)
    assert out.status == "ok", out.reason
    assert out.metrics == {"combined_score": 3.0, "public.value": 3.0} and out.feedback == "fine"
    out = evaluate(sandbox, problem, SEED.replace("3.0", "30.0"))
    assert out.status == "invalid" and out.reason == "the evaluator marked the program incorrect: too big"


def test_a_non_python_initial_program_is_refused(tmp_path):
    other = folder(tmp_path / "julia", {"initial.jl": "x = 1\n", "evaluate.py": "def main(p, r):\n    pass\n"})
    with pytest.raises(ProblemError, match="not Python"):
        load_problem(other)


def test_the_trust_label_of_builtins_and_peers():
    from evolve.api import score_trust

    assert score_trust(load_problem("cap_set")) == {
        "scores": "verified by the problem's trusted scorer",
        "scores_hint": None,
    }
    peer = score_trust(load_problem(SHINKA))
    assert peer["scores"].startswith(UNTRUSTED) and "problem.py" in peer["scores_hint"]


@pytest.mark.docker
@pytest.mark.parametrize("path", [OPENEVOLVE, SHINKA])
def test_peer_evaluators_run_in_the_docker_sandbox(path):
    from evolve.sandbox.docker import DockerSandbox, connect

    problem = load_problem(path)
    with DockerSandbox(pool_size=1, client=connect()) as sb:
        out = evaluate(sb, problem)
    assert out.status == "ok", out.reason
    assert 0.2 < out.metrics["combined_score"] < 1.0


def test_shinka_helper_reports_a_crashing_program_as_incorrect(sandbox, tmp_path):
    task = folder(
        tmp_path / "crash",
        {
            "initial.py": SEED,
            "evaluate.py": """
                from shinka.core import run_shinka_eval

                def main(program_path, results_dir):
                    return run_shinka_eval(
                        program_path=program_path,
                        results_dir=results_dir,
                        experiment_fn_name="answer",
                        num_runs=2,
                        get_experiment_kwargs=lambda i: {},
                        aggregate_metrics_fn=lambda runs: {"combined_score": sum(runs) / len(runs)},
                        default_metrics_on_error={"combined_score": -1.0},
                    )
            """,
        },
    )
    problem = load_peer_folder(task)
    out = evaluate(sandbox, problem)
    assert out.status == "ok", out.reason
    assert out.metrics["combined_score"] == 3.0 and "num_valid_runs" not in out.metrics
    out = evaluate(sandbox, problem, SEED.replace("return 3.0", "raise KeyError('lost')"))
    assert out.status == "invalid"
    assert out.reason.startswith("the evaluator marked the program incorrect: KeyError: 'lost'")
