"""`evolve run ... --sandbox docker` end to end, with no registry: the offline image."""

import json

import pytest

from tests.e2e.conftest import QUADRATIC, evolve_cli

pytestmark = pytest.mark.docker


def test_cli_campaign_in_docker(tmp_path):
    evolve_cli(
        "run", QUADRATIC, "--budget", "10", "--islands", "2", "--sandbox", "docker", "--no-progress", cwd=tmp_path
    )
    status = json.loads(evolve_cli("status", "quadratic", "--json", cwd=tmp_path).stdout)
    assert status["evaluations"] == 10
    assert status["sandbox"].startswith("docker")
    assert status["best"] > -((0.5 - 3) ** 2) + 10
