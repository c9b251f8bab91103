"""Evolve: LLM-driven evolutionary program search.

    import evolve
    campaign = evolve.create_campaign("bin_packing", storage="sqlite:///runs.db", name="bp")
    campaign.run(budget=200)
    print(campaign.best().objective)

Names are loaded lazily so that subpackages can import ``evolve.errors`` cheaply.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "EvolveError": "evolve.errors",
    "ProblemError": "evolve.errors",
    "ConfigError": "evolve.errors",
    "StorageError": "evolve.errors",
    "SandboxError": "evolve.errors",
    "OperatorError": "evolve.errors",
    "CampaignNotFound": "evolve.errors",
    "Problem": "evolve.problems.contract",
    "InvalidOutput": "evolve.problems.contract",
    "load_problem": "evolve.problems.loader",
    "Config": "evolve.config",
    "Campaign": "evolve.api",
    "Trial": "evolve.api",
    "create_campaign": "evolve.api",
    "load_campaign": "evolve.api",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'evolve' has no attribute {name!r}")
