"""The Ray executor on a real local Ray instance: same sandbox contract, results back."""

import pytest


@pytest.fixture(scope="module")
def ray_cluster():
    import ray as ray_

    ray_.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray_
    ray_.shutdown()


def test_bin_packing_seed_scores_the_same_on_ray(ray_cluster):
    from evolve.evaluate import Evaluator
    from evolve.problems.loader import load_problem
    from evolve.sandbox.ray_executor import RaySandbox

    problem = load_problem("bin_packing", case_set="or3_small")
    sb = RaySandbox(backend="process")
    assert sb.describe().startswith("ray (1 node(s)")
    out = Evaluator(problem, sb).evaluate(problem.initial_program)
    assert out.status == "ok" and out.objective == pytest.approx(5.736894164193879)

    broken = problem.initial_program.replace("return -(bins - item)", "return 1 / 0")
    failed = Evaluator(problem, sb).evaluate(broken)
    assert failed.status == "error" and "ZeroDivisionError" in failed.reason


def test_campaign_with_ray_executor(ray_cluster, tmp_path):
    import evolve
    from tests.e2e.conftest import QUADRATIC

    c = evolve.create_campaign(
        QUADRATIC,
        storage=f"sqlite:///{tmp_path}/r.db",
        name="r",
        budget=6,
        islands=2,
        executor="ray",
        sandbox="process",
    )
    stats = c.run()
    assert stats.evaluations == 6
    assert c.status()["sandbox"].startswith("ray")
    rows = [p for p in c.archive.programs(c.info.id) if p.seq is not None]
    assert all(p.status == "ok" for p in rows)
