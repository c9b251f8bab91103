"""The plug-in registries: registering, building with validated options, one list per kind
that config validation and the CLI read."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import BaseModel

from evolve.archive.selection import SELECTION_POLICIES, SelectionPolicy, make_policy, register_policy
from evolve.config import build_config
from evolve.errors import ConfigError
from evolve.operators.registry import OPERATORS, make_operator
from evolve.plugins import REGISTRIES
from evolve.registry import Registry
from evolve.sandbox.registry import SANDBOXES
from evolve.sandbox.select import make_sandbox

BUILTIN_POLICIES = (
    "tournament",
    "fitness_proportional",
    "dgm",
    "novelty",
    "funsearch",
    "map_elites",
    "uniform",
    "best",
)


def test_registry_basics():
    class Opts(BaseModel):
        n: int = 1

    reg: Registry[object] = Registry("widget")
    reg.add("lazy", "collections:OrderedDict", "an ordered dict")

    @reg.register("made", options=Opts)
    def made(options: Opts) -> int:
        """Makes n."""
        return options.n

    assert reg.names() == ("lazy", "made") and "made" in reg and len(reg) == 2
    assert reg.summaries() == {"lazy": "an ordered dict", "made": "Makes n."}
    assert reg.build("made", {"n": 3}) == 3 and reg.build("made") == 1
    assert reg.build("lazy").__class__.__name__ == "OrderedDict"
    with pytest.raises(ConfigError, match="unknown widget 'nope'; choose one of lazy, made"):
        reg.get("nope")
    with pytest.raises(ConfigError, match="invalid options for the widget 'made': n: Input should be a valid integer"):
        reg.build("made", {"n": "many"})
    with pytest.raises(ConfigError, match="takes no options"):
        reg.build("lazy", {"x": 1})
    with pytest.raises(ValueError, match="already registered"):
        reg.add("made", made)
    reg.add("made", lambda: 0, "replaced", replace=True)
    assert reg.build("made") == 0
    with pytest.raises(ValueError, match="letters, digits"):
        reg.add("bad name", made)


def test_the_four_registries_hold_the_builtins():
    assert SELECTION_POLICIES.names() == BUILTIN_POLICIES
    assert OPERATORS.names()[:2] == ("gp", "llm")
    assert SANDBOXES.names()[:2] == ("process", "docker")
    assert {"bin_packing", "circle_packing"} <= set(REGISTRIES["problem"].names())
    for kind, registry in REGISTRIES.items():
        assert all(registry.summary(n) for n in registry.names()), kind


def test_every_builtin_policy_builds_with_defaults_and_checks_its_options():
    for name in BUILTIN_POLICIES:
        assert isinstance(make_policy(name), SelectionPolicy)
    assert make_policy("tournament", {"size": 7}).options.size == 7
    with pytest.raises(ConfigError, match="'dgm': lam: Input should be greater than 0"):
        make_policy("dgm", {"lam": -1})


def test_config_validation_reads_the_registries():
    with pytest.raises(
        ConfigError, match="unknown selection 'roulette'; choose one of tournament, fitness_proportional"
    ):
        build_config({"selection": "roulette"})
    with pytest.raises(ConfigError, match="selection_options"):
        build_config({"selection": "novelty", "selection_options": {"k_nn": 0}})
    with pytest.raises(ConfigError, match="unknown operator 'gpt'; choose one of gp, llm"):
        build_config({"operator": "gpt"})
    with pytest.raises(ConfigError, match="gp.*attempts"):
        build_config({"operator": "gp", "operator_options": {"attempts": 0}})
    with pytest.raises(ConfigError, match="unknown sandbox 'vm'; choose one of auto, process, docker"):
        build_config({"sandbox": "vm"})
    cfg = build_config({"selection": "tournament", "tournament_size": 3, "operator_options": {"salt": 5}})
    assert cfg.policy_options() == {"size": 3}
    assert make_operator(cfg.operator_kind, cfg.operator_settings()).salt == 5


def test_a_policy_registered_later_is_accepted_by_config():
    @register_policy("first_seen")
    class FirstSeen(SelectionPolicy):
        """The oldest visible programs."""

        def select(self, island, k, rng):
            return [c.id for c in sorted(island.top(100), key=lambda c: c.born_at)[:k]]

    try:
        assert build_config({"selection": "first_seen"}).selection == "first_seen"
        assert SELECTION_POLICIES.summary("first_seen") == "The oldest visible programs."
    finally:
        SELECTION_POLICIES.remove("first_seen")


def test_sandbox_options_go_to_the_backend_that_declares_them():
    with make_sandbox("process", isolation="auto", image="only-for-docker", pool_size=3) as sb:
        assert sb.name == "process"  # image and pool_size are the Docker backend's: not passed here
    with pytest.raises(Exception, match="unsafe-no-isolation"):
        make_sandbox("process", isolation="none")  # the setting reaches the backend, which refuses it
    with pytest.raises(Exception, match="unknown sandbox option"):
        make_sandbox("process", colour="red")
    with pytest.raises(
        Exception, match="isolation: Input should be 'auto', 'bwrap', 'namespaces', 'unshare' or 'none'"
    ):
        make_sandbox("process", isolation="chroot")


def test_cli_help_lists_the_registries():
    out = subprocess.run(
        [sys.executable, "-m", "evolve", "run", "--help"], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    flat = " ".join(out.split())
    for name in (*BUILTIN_POLICIES, "process", "docker", "gp", "llm"):
        assert name in flat, name
