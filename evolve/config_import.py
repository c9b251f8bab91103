"""Translate an OpenEvolve or ShinkaEvolve config file into Evolve's TOML.

    evolve config import config.yaml --out evolve.toml

Carried over: the models (with weights, temperature, token limits), islands, migration,
the budget, the seed, parallel evaluations, the time limit, the system prompt (written as
a prompt template next to the TOML) and the cost cap. Settings without an Evolve
equivalent are listed in a comment at the top of the TOML, so nothing is dropped
silently. API keys are never copied: Evolve reads keys from the environment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from evolve.errors import ConfigError, ProblemError

OPENAI_BASES = ("https://api.openai.com/v1", "https://api.openai.com/v1/")
_OE_KEYS = {"max_iterations", "llm", "prompt", "database", "evaluator", "random_seed", "diff_based_evolution"}
_SHINKA_KEYS = {"evo_config", "db_config", "job_config", "evo", "db", "job"}


@dataclass
class Imported:
    settings: dict[str, Any] = field(default_factory=dict)
    system_prompt: str | None = None
    dropped: list[str] = field(default_factory=list)
    source_kind: str = ""


def _load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except Exception as e:  # noqa: BLE001 - any parse error is the user's to fix
        raise ConfigError(f"cannot parse {path}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings")
    return data


def config_kind(data: dict[str, Any]) -> str:
    if set(data) & _SHINKA_KEYS:
        return "shinka"
    if set(data) & _OE_KEYS:
        return "openevolve"
    raise ConfigError(
        "not an OpenEvolve config (max_iterations, llm, database, ...) nor a ShinkaEvolve one "
        "(evo_config, db_config, ...): nothing to import"
    )


def import_config(path: str | Path) -> Imported:
    data = _load_yaml(Path(path))
    kind = config_kind(data)
    result = _openevolve(data) if kind == "openevolve" else _shinka(data)
    result.source_kind = kind
    return result


def peer_settings(path: str | Path) -> dict[str, Any]:
    """What a peer folder's config says about the problem itself: its description (the
    system prompt) and the evaluation time limit. ProblemError if it cannot be read."""
    try:
        imported = import_config(path)
    except ConfigError as e:
        raise ProblemError(str(e)) from None
    return {"description": imported.system_prompt, "time_limit": imported.settings.get("time_limit")}


# -- OpenEvolve ------------------------------------------------------------------------


def _openevolve(data: dict[str, Any]) -> Imported:
    out = Imported()
    s = out.settings
    _take(s, "budget", data.get("max_iterations"), int)
    _take(s, "seed", data.get("random_seed"), int)
    db = _section(data, "database")
    _take(s, "islands", db.get("num_islands"), int)
    _take(s, "migration_interval", db.get("migration_interval"), int)
    size = _migration_size(db.get("migration_rate"), db.get("population_size"), db.get("num_islands"))
    _take(s, "migration_size", size, int)
    ev = _section(data, "evaluator")
    _take(s, "time_limit", ev.get("timeout"), float)
    _take(s, "workers", ev.get("parallel_evaluations"), int)
    llm = _section(data, "llm")
    models = [m for m in llm.get("models") or [] if isinstance(m, dict)]
    for key, weight_key in (("primary_model", "primary_model_weight"), ("secondary_model", "secondary_model_weight")):
        if llm.get(key) and not models:
            models.append({"name": llm[key], "weight": llm.get(weight_key, 1.0)})
    specs = [_oe_model(m, llm) for m in models if m.get("name")]
    prompt = _section(data, "prompt")
    system = prompt.get("system_message")
    if isinstance(system, str) and system.strip() and system.strip() != "system_message":
        out.system_prompt = system.strip()
    if specs:
        llm_out: dict[str, Any] = {"models": specs}
        full = data.get("full_rewrite_probability")
        if data.get("diff_based_evolution") is False:
            llm_out["mix"] = {"diff": 0.0, "rewrite": 0.9, "crossover": 0.1}
        elif isinstance(full, (int, float)) and 0 < full < 1:
            llm_out["mix"] = {"diff": round(0.9 * (1 - full), 3), "rewrite": round(0.9 * full, 3), "crossover": 0.1}
        s["llm"] = llm_out
    if llm.get("evaluator_models"):
        out.dropped.append("llm.evaluator_models (LLM feedback as a metric)")
    for key in ("feature_dimensions", "exploration_ratio", "exploitation_ratio", "elite_selection_ratio"):
        if key in db:
            out.dropped.append(f"database.{key}")
    if ev.get("cascade_evaluation"):
        out.dropped.append("evaluator.cascade_evaluation (the evaluator's stages run one after another)")
    return out


def _oe_model(model: dict[str, Any], llm: dict[str, Any]) -> dict[str, Any]:
    name = str(model["name"])
    base = str(model.get("api_base") or llm.get("api_base") or OPENAI_BASES[0])
    if base in OPENAI_BASES:
        spec = f"openai:{name}"
    elif "anthropic" in base:
        spec = f"anthropic:{name}"
    else:
        spec = f"openai-compat:{name}@{base.rstrip('/')}"
    entry: dict[str, Any] = {"spec": spec}
    _take(entry, "weight", model.get("weight"), float)
    for ours, theirs, kind in (
        ("temperature", "temperature", float),
        ("max_tokens", "max_tokens", int),
        ("timeout", "timeout", float),
        ("max_retries", "retries", int),
    ):
        _take(entry, ours, model.get(theirs, llm.get(theirs)), kind)
    return entry


# -- ShinkaEvolve ----------------------------------------------------------------------


def _shinka(data: dict[str, Any]) -> Imported:
    out = Imported()
    s = out.settings
    evo = _section(data, "evo_config") or _section(data, "evo")
    db = _section(data, "db_config") or _section(data, "db")
    job = _section(data, "job_config") or _section(data, "job")
    _take(s, "budget", evo.get("num_generations"), int)
    _take(s, "islands", db.get("num_islands"), int)
    _take(s, "migration_interval", db.get("migration_interval"), int)
    size = _migration_size(db.get("migration_rate"), db.get("archive_size"), 1)
    _take(s, "migration_size", size, int)
    _take(s, "workers", data.get("max_evaluation_jobs"), int)
    _take(s, "time_limit", _hms(job.get("time")), float)
    system = evo.get("task_sys_msg")
    if isinstance(system, str) and system.strip():
        out.system_prompt = system.strip()
    kwargs = evo.get("llm_kwargs") or {}
    specs = []
    for name in evo.get("llm_models") or []:
        spec = _shinka_spec(str(name))
        if spec is None:
            out.dropped.append(f"model {name!r} (give it as openai-compat:{name}@URL of a server that serves it)")
            continue
        entry: dict[str, Any] = {"spec": spec}
        temps = kwargs.get("temperatures", kwargs.get("temperature"))
        if isinstance(temps, list) and temps:
            temps = sum(temps) / len(temps)
        _take(entry, "temperature", temps, float)
        _take(entry, "max_tokens", kwargs.get("max_tokens"), int)
        specs.append(entry)
    if specs:
        llm_out: dict[str, Any] = {"models": specs}
        _take(llm_out, "max_cost", evo.get("max_api_costs"), float)
        mix = _shinka_mix(evo.get("patch_types"), evo.get("patch_type_probs"))
        if mix:
            llm_out["mix"] = mix
        s["llm"] = llm_out
    for key in ("meta_rec_interval", "embedding_model", "novelty_llm_models", "evolve_prompts"):
        if evo.get(key):
            out.dropped.append(f"evo_config.{key}")
    return out


def _shinka_spec(name: str) -> str | None:
    bare = name.split("/")[-1]
    if bare.startswith("claude"):
        return f"anthropic:{bare}"
    if bare.startswith(("gpt", "o1", "o3", "o4", "chatgpt")):
        return f"openai:{bare}"
    return None


def _shinka_mix(types: Any, probs: Any) -> dict[str, float] | None:
    if not isinstance(types, list) or not types:
        return None
    weights = probs if isinstance(probs, list) and len(probs) == len(types) else [1.0] * len(types)
    names = {"diff": "diff", "full": "rewrite", "cross": "crossover"}
    mix: dict[str, float] = {}
    for kind, weight in zip(types, weights):
        if kind in names and isinstance(weight, (int, float)):
            mix[names[kind]] = mix.get(names[kind], 0.0) + float(weight)
    return mix if mix.get("diff", 0) + mix.get("rewrite", 0) > 0 else None


def _hms(value: Any) -> float | None:
    if isinstance(value, str) and value.count(":") == 2:
        try:
            h, m, sec = (float(x) for x in value.split(":"))
        except ValueError:
            return None
        return h * 3600 + m * 60 + sec
    return None


# -- helpers ---------------------------------------------------------------------------


def _section(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _take(into: dict[str, Any], key: str, value: Any, kind: type) -> None:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, float) and not math.isfinite(value):
        return
    if value <= 0 and key not in ("seed", "temperature"):
        return
    into[key] = kind(value)


def _migration_size(rate: Any, population: Any, islands: Any) -> int | None:
    """Peers migrate a fraction of an island's population; Evolve sends its best k: about
    as many programs, at most 10."""
    if not isinstance(rate, (int, float)) or rate <= 0:
        return None
    pop = population if isinstance(population, (int, float)) and population > 0 else 100
    per_island = pop / (islands if isinstance(islands, (int, float)) and islands > 0 else 1)
    return max(1, min(10, round(rate * per_island)))


def to_toml(imported: Imported, problem: str | None, templates_dir: str | None) -> str:
    lines = [f"# Imported from a{'n' if imported.source_kind == 'openevolve' else ''} {imported.source_kind} config."]
    if imported.dropped:
        lines.append("# Not carried over (no Evolve equivalent): " + "; ".join(imported.dropped) + ".")
    settings = dict(imported.settings)
    llm = settings.pop("llm", None)
    if problem:
        lines.append(f"problem = {_value(problem)}")
    for key, value in settings.items():
        lines.append(f"{key} = {_value(value)}")
    if llm is None and imported.system_prompt:
        lines.append("# The system prompt applies to LLM operators; add [llm] models to use it.")
    if llm is not None:
        models = llm.pop("models")
        mix = llm.pop("mix", None)
        if templates_dir:
            llm["templates_dir"] = templates_dir
        lines += ["", "[llm]"] + [f"{k} = {_value(v)}" for k, v in llm.items()]
        if mix:
            lines += ["", "[llm.mix]"] + [f"{k} = {_value(v)}" for k, v in mix.items()]
        for model in models:
            lines += ["", "[[llm.models]]"] + [f"{k} = {_value(v)}" for k, v in model.items()]
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def system_template(prompt: str) -> str:
    """The imported system prompt as Evolve's system template, followed by Evolve's own
    rules for evolve blocks (``$`` escaped: templates use string.Template)."""
    builtin = (resources.files("evolve.operators.llm") / "templates" / "system.txt").read_text()
    return prompt.replace("$", "$$") + "\n\n" + builtin


def write_imported(source: str | Path, out: str | Path, problem: str | None = None) -> list[Path]:
    """Write the TOML (and the prompt template, if any); returns the files written."""
    imported = import_config(source)
    out_path = Path(out)
    written = []
    templates = None
    if imported.system_prompt and "llm" in imported.settings:
        folder = out_path.with_name(out_path.stem + "_prompts")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "system.txt").write_text(system_template(imported.system_prompt))
        written.append(folder / "system.txt")
        templates = str(folder.resolve())
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(to_toml(imported, problem, templates))
    written.insert(0, out_path)
    return written
