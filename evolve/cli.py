"""The `evolve` command line. User errors print one line and exit 2 (--debug shows the traceback)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evolve.archive.db import safe_url
from evolve.archive.selection import SELECTION_POLICIES
from evolve.cli_support import llm_overrides, run_app, run_settings
from evolve.constants import DEFAULT_STORAGE
from evolve.errors import EvolveError
from evolve.operators.registry import OPERATORS
from evolve.sandbox.select import choices as sandbox_choices

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Evolve: LLM-driven evolutionary program search.")
sandbox_app = typer.Typer(help="Sandbox backends.")
db_app = typer.Typer(help="Archive database.")
config_app = typer.Typer(help="Configuration files.")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
console = Console()
err = Console(stderr=True)
STATE = {"debug": False}


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show info logs."),
) -> None:
    STATE["debug"] = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def run(
    problem: str | None = typer.Argument(
        None,
        help="Built-in name (see `evolve problems`), a directory with problem.py, or a .py file "
        "(optional when the config file names the problem).",
    ),
    budget: int | None = typer.Option(None, help="Child evaluations to run (default 200)."),
    max_proposals: int | None = typer.Option(None, help="Stop after this many proposals, evaluated or not."),
    time_limit: float | None = typer.Option(None, help="Seconds per case (default: the problem's)."),
    islands: int | None = typer.Option(None, help="Number of islands (default 4)."),
    workers: int | None = typer.Option(None, help="Evaluations in parallel (default 2)."),
    seed: int | None = typer.Option(None, help="Random seed (default 0)."),
    storage: str | None = typer.Option(None, help=f"Archive URL (default {DEFAULT_STORAGE})."),
    name: str | None = typer.Option(None, help="Campaign name (default: the problem's name)."),
    config: Path | None = typer.Option(None, help="TOML or YAML config file; flags override it."),
    case_set: str | None = typer.Option(None, help="Named case set of the problem."),
    sandbox: str | None = typer.Option(None, help=f"Sandbox backend: {', '.join(sandbox_choices())} (default auto)."),
    isolation: str | None = typer.Option(None, help="Process sandbox walls: auto, bwrap, namespaces or none."),
    unsafe_no_isolation: bool = typer.Option(
        False,
        "--unsafe-no-isolation",
        help="Where no isolation works, run candidates anyway: they can read your files and reach the network.",
    ),
    executor: str | None = typer.Option(None, help="local (default) or ray: run evaluations on a Ray cluster."),
    ray_address: str | None = typer.Option(None, help="Ray cluster address for --executor ray (default: local Ray)."),
    selection: str | None = typer.Option(
        None, help=f"Parent selection policy: {SELECTION_POLICIES.choices()} (default tournament)."
    ),
    operator: str | None = typer.Option(
        None, help=f"Operator: {OPERATORS.choices()} (default: llm with --model, else gp)."
    ),
    model: list[str] = typer.Option(
        [], help="LLM operator model spec (repeat for an ensemble), e.g. openai:gpt-4o-mini."
    ),
    max_cost: float | None = typer.Option(None, help="Stop new LLM proposals once this many dollars are spent."),
    price_in: float | None = typer.Option(
        None, help="USD per million input tokens of --model (default: known prices)."
    ),
    price_out: float | None = typer.Option(None, help="USD per million output tokens of --model."),
    replay: str | None = typer.Option(None, help="Re-run CAMPAIGN from its recorded LLM responses (no API calls)."),
    finetune_every: int | None = typer.Option(
        None, help="Fine-tune the operator model every N proposals (SOAR cycle)."
    ),
    finetune_method: str | None = typer.Option(None, help="sft, dpo or grpo (default sft)."),
    finetune_base: str | None = typer.Option(None, help="Local model directory the fine-tuning starts from."),
    progress: bool = typer.Option(True, help="Show the progress display."),
) -> None:
    """Run an evolution campaign, or resume it: running the same command again continues it."""
    from evolve.api import create_campaign
    from evolve.config import read_config_file

    flags = dict(
        budget=budget,
        max_proposals=max_proposals,
        time_limit=time_limit,
        islands=islands,
        workers=workers,
        seed=seed,
        storage=storage,
        case_set=case_set,
        sandbox=sandbox,
        isolation=isolation,
        unsafe_no_isolation=unsafe_no_isolation or None,
        executor=executor,
        ray_address=ray_address,
        selection=selection,
        operator=operator,
        finetune_every=finetune_every,
        finetune_method=finetune_method,
        finetune_base=finetune_base,
    )
    problem, settings = run_settings(problem, config, flags, read_config_file)
    llm_overrides(settings, model, max_cost, price_in, price_out)
    settings.setdefault("storage", DEFAULT_STORAGE)
    replay_calls = None
    if replay:  # same settings as the recorded campaign, its replies instead of model calls
        original, replay_calls = _load_replay(replay, settings["storage"])
        keep = ("storage", "budget", "progress", "sandbox", "isolation", "unsafe_no_isolation")
        settings = {**original, **{k: v for k, v in settings.items() if k in keep}}
        name = name or f"{replay}-replay"
    campaign = create_campaign(problem, name=name or settings.pop("name", None), **settings)
    done = campaign.status()["evaluations"]
    cfg = campaign.config
    console.print(
        f"campaign [bold]{escape(campaign.name)}[/] · {escape(campaign.problem.name)} · budget {cfg.budget} "
        f"· {cfg.islands} islands · {cfg.workers} workers · operator {cfg.operator_kind} · {escape(safe_url(cfg.storage))}"
        + (f" · resuming at {done}" if done else "")
    )
    from evolve.progress import RunDisplay

    display = RunDisplay(console, cfg.budget, done, campaign.problem.objective, enabled=progress and cfg.progress)
    try:
        with display:
            stats = campaign.run(on_tell=display.on_tell, replay=replay_calls)
    except KeyboardInterrupt:
        err.print(f"stopped; run the same command again to resume campaign {escape(repr(campaign.name))}")
        raise typer.Exit(130) from None
    _print_best(campaign)
    if campaign.problem.untrusted_scores:
        console.print(f"note: {campaign.problem.untrusted_scores}", highlight=False)
    console.print(
        f"sandbox: {campaign.refresh().state.get('sandbox')}"
        + (f" · stopped early: {stats.stopped_by}" if stats.stopped_by else ""),
        markup=False,
    )


def _load_replay(name: str, storage: str) -> tuple[dict, dict]:
    """The recorded campaign's settings and its LLM calls by proposal seq."""
    from evolve.archive import Archive

    archive = Archive(storage)
    info = archive.get_campaign(name)
    if info is None:
        raise EvolveError(f"no campaign named {name!r} to replay in {safe_url(storage)}")
    calls: dict[int, list] = {}
    for call in archive.llm_calls(campaign_id=info.id):
        if call.seq is not None:  # calls outside any proposal are not replayed
            calls.setdefault(call.seq, []).append(call)
    settings = {k: v for k, v in info.config.items() if k not in ("name", "problem")}
    return settings, calls


def _print_best(campaign) -> None:
    best = campaign.best()
    if best is None:
        console.print("no successful program yet")
        return
    seed = campaign.archive.programs(campaign.info.id, limit=1)
    seed_obj = seed[0].objective if seed else None
    console.print(
        f"best {escape(campaign.problem.objective)}: [bold green]{best.objective:.6g}[/] (program {best.id}, "
        f"island {best.island}, generation {best.generation}; seed {seed_obj if seed_obj is None else f'{seed_obj:.6g}'})"
    )


def _campaign(name: str, storage: str | None):
    from evolve.api import load_campaign

    return load_campaign(name, storage or DEFAULT_STORAGE)


@app.command()
def worker(
    name: str = typer.Argument(..., help="Campaign to work on (every worker points at the same storage)."),
    storage: str = typer.Option(..., help="Archive URL shared by all workers, e.g. postgresql://host/db."),
    problem: str | None = typer.Option(None, help="Create the campaign with this problem if it does not exist."),
    budget: int | None = typer.Option(None, help="With --problem: the campaign's budget."),
    islands: int | None = typer.Option(None, help="With --problem: number of islands."),
    workers: int | None = typer.Option(None, help="Evaluations this worker runs in parallel."),
    config: Path | None = typer.Option(None, help="With --problem: TOML or YAML config file."),
    worker_name: str | None = typer.Option(None, help="This worker's name (default host:pid)."),
    ttl: float = typer.Option(30.0, help="Seconds before a silent worker's island is taken over."),
    unsafe_no_isolation: bool = typer.Option(
        False, "--unsafe-no-isolation", help="Where no isolation works, run candidates anyway (see `evolve run`)."
    ),
) -> None:
    """Join a campaign as one of many workers: lease islands, evolve them, hand them back."""
    from evolve.api import create_campaign, load_campaign
    from evolve.config import read_config_file
    from evolve.worker import run_worker

    if problem is not None:
        settings: dict[str, Any] = read_config_file(config) if config else {}
        settings.update(
            {k: v for k, v in dict(budget=budget, islands=islands, workers=workers).items() if v is not None}
        )
        campaign = create_campaign(problem, name=name, storage=storage, **settings)
    else:
        campaign = load_campaign(name, storage)
        if workers:
            campaign.config = campaign.config.model_copy(update={"workers": workers})
    if unsafe_no_isolation:
        campaign.config = campaign.config.model_copy(update={"unsafe_no_isolation": True})
    n = run_worker(campaign, worker_name, ttl=ttl)
    console.print(f"worker done: stored {n} evaluations")
    _print_best(campaign)


@app.command()
def status(
    name: str,
    storage: str | None = typer.Option(None, help="Archive URL."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a campaign's progress, best score, failures, islands and spend."""
    st = _campaign(name, storage).status()
    if as_json:
        console.print_json(json.dumps(st, default=str))
        return
    table = Table(title=escape(f"campaign {st['name']} ({st['problem']}, {st['status']})"), show_header=False)
    table.add_row("evaluations", f"{st['evaluations']} / {st['budget']}")
    table.add_row(escape(f"best {st['objective']} ({st['direction']})"), str(st["best"]))
    table.add_row(
        "by status",
        ", ".join(f"{k} {v}" for k, v in sorted(st["by_status"].items())) + f" (+ {st['seeds']} seed copies)",
    )
    for i, isl in st["islands"].items():
        best_ = "-" if isl["best"] is None else f"{isl['best']:.6g}"
        table.add_row(
            f"island {i}",
            f"best {best_} · {isl['ok_programs']} ok programs"
            + (f" · leased by {isl['worker']}" if isl["worker"] else ""),
        )
    if st["cells"]:
        c = st["cells"]
        table.add_row(
            "MAP-Elites", f"{c['filled']} cells filled ({c['coverage']:.0%} coverage) · QD score {c['qd_score']:.6g}"
        )
    sp = st["spend"]
    table.add_row(
        "LLM spend",
        f"${sp.get('cost', 0):.4f} over {sp.get('calls', 0)} calls "
        f"({sp.get('input_tokens', 0)} in / {sp.get('output_tokens', 0)} out tokens)",
    )
    for spec, address in (st.get("llm_endpoints") or {}).items():
        table.add_row(escape(f"model {spec}"), escape(str(address)))
    table.add_row("sandbox", escape(str(st.get("sandbox"))))
    table.add_row("scores", escape(st["scores"] + (f" · {st['scores_hint']}" if st.get("scores_hint") else "")))
    console.print(table)


@app.command()
def best(
    name: str,
    storage: str | None = typer.Option(None, help="Archive URL."),
    k: int = typer.Option(1, "--top", help="How many programs."),
) -> None:
    """Print the best program(s): code and metrics."""
    campaign = _campaign(name, storage)
    for program in campaign.best(k):
        console.rule(escape(f"program {program.id} · {campaign.problem.objective} {program.objective:.6g}"))
        console.print(json.dumps(program.metrics, sort_keys=True))
        console.print(program.code, markup=False, highlight=False)


@app.command()
def export(
    name: str,
    out: Path = typer.Option(Path("export"), help="Output directory."),
    top: int = typer.Option(5, help="How many of the best programs."),
    diverse: bool = typer.Option(False, help="One program per code-shape cell instead of the top scores."),
    storage: str | None = typer.Option(None, help="Archive URL."),
) -> None:
    """Write the best programs as runnable .py files plus JSON metrics and lineage."""
    campaign = _campaign(name, storage)
    for path in campaign.export(str(out), top, diverse=diverse):
        console.print(str(path), markup=False, highlight=False)
    if campaign.problem.untrusted_scores:
        from evolve.problems.peers.load import HINT

        err.print(f"note: {campaign.problem.untrusted_scores}; {HINT}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def score(
    file: Path,
    problem: str,
    case_set: str | None = typer.Option(None, help="Named case set."),
    sandbox: str = typer.Option("auto", help=f"Sandbox backend: {', '.join(sandbox_choices())}."),
    isolation: str = typer.Option("auto", help="Process sandbox walls: auto, bwrap, namespaces or none."),
    unsafe_no_isolation: bool = typer.Option(
        False, "--unsafe-no-isolation", help="Where no isolation works, run the program anyway (see `evolve run`)."
    ),
) -> None:
    """Re-score a program file independently, in the sandbox, with the problem's trusted scorer."""
    from evolve.config import build_config
    from evolve.evaluate import Evaluator
    from evolve.problems.loader import load_problem
    from evolve.wiring import make_sandbox

    if not file.is_file():
        raise EvolveError(f"no such file: {file}")
    prob = load_problem(problem, case_set=case_set)
    options = dict(sandbox=sandbox, isolation=isolation, unsafe_no_isolation=unsafe_no_isolation)
    with make_sandbox(build_config({"problem": problem, "storage": "sqlite://", **options})) as sb:
        outcome = Evaluator(prob, sb).evaluate(file.read_text())
    console.print_json(
        json.dumps(
            {
                "status": outcome.status,
                "reason": outcome.reason,
                "objective": outcome.objective,
                "metrics": outcome.metrics,
            }
        )
    )
    if outcome.status != "ok":
        raise typer.Exit(1)


@app.command()
def finetune(
    name: str = typer.Argument(..., help="Campaign whose archive holds the training data."),
    method: str = typer.Option("sft", help="sft (SOAR hindsight), dpo (EvoTune pairs) or grpo (sandboxed reward)."),
    base: str = typer.Option(..., help="Local model directory to fine-tune (hf:DIR or DIR)."),
    out: Path = typer.Option(..., help="Output directory: adapter/, merged/ and metrics.json."),
    dump_dataset: Path | None = typer.Option(None, help="Write the dataset as JSONL here first."),
    dry_run: bool = typer.Option(False, help="Only build (and dump) the dataset."),
    min_examples: int = typer.Option(8, help="Refuse to train on fewer examples."),
    steps: int | None = typer.Option(
        None, "--steps", "--max-steps", min=1, help="Training steps (default: one epoch)."
    ),
    num_generations: int | None = typer.Option(
        None, min=1, help="GRPO: completions per prompt (default from the model size and device)."
    ),
    max_completion_length: int | None = typer.Option(
        None, min=1, help="GRPO: tokens per completion (default from the model size and device)."
    ),
    storage: str | None = typer.Option(None, help="Archive URL."),
) -> None:
    """Fine-tune the operator model on a campaign's discoveries (LoRA adapter + merged model)."""
    if method != "grpo" and (num_generations or max_completion_length):
        raise EvolveError("--num-generations and --max-completion-length are GRPO options: add --method grpo")
    from evolve.finetune import run_finetune, sandbox_evaluator

    campaign = _campaign(name, storage)
    opts: dict[str, Any] = {"dry_run": dry_run}
    if steps:
        opts["max_steps"] = steps
    if num_generations:
        opts["num_generations"] = num_generations
    if max_completion_length:
        opts["max_completion_length"] = max_completion_length
    sandbox_ = None
    evaluate = None
    if method == "grpo" and not dry_run:
        from evolve.wiring import make_sandbox

        sandbox_ = make_sandbox(campaign.config)
        evaluate = sandbox_evaluator(campaign.problem, sandbox_)
    try:
        result = run_finetune(
            campaign.archive,
            name,
            method,
            base.removeprefix("hf:"),
            out,
            dump_dataset=dump_dataset,
            evaluate=evaluate,
            min_examples=min_examples,
            **opts,
        )
    finally:
        if sandbox_ is not None:
            sandbox_.close()
    if result is None:
        console.print(f"dataset written to {dump_dataset}" if dump_dataset else "dataset built")
        return
    console.print(
        f"{method}: {result.num_examples} examples · adapter {result.adapter_dir} · merged {result.merged_dir}"
    )
    console.print(
        f"use it: evolve run {campaign.problem.source or campaign.problem.name} --model {result.model_spec}",
        markup=False,
    )


@app.command()
def problems() -> None:
    """List the built-in problems."""
    from evolve.problems.loader import builtin_anchors, builtin_problems

    anchors = builtin_anchors()
    for pname, summary in builtin_problems().items():
        console.print(f"[bold]{escape(pname)}[/]  {escape(summary)}", highlight=False)
        console.print(f"    anchor: {escape(anchors[pname])}", highlight=False)


@app.command()
def plugins() -> None:
    """List the registered selection policies, operators, sandbox backends and problems."""
    from evolve.plugins import REGISTRIES

    for kind, registry in REGISTRIES.items():
        console.rule(f"{kind} ({registry.kind})")
        for pname, summary in registry.summaries().items():
            console.print(f"[bold]{pname}[/]  {summary}", highlight=False)


@app.command()
def dashboard(
    name: str | None = typer.Argument(None, help="Campaign to open first (default: the list of campaigns)."),
    storage: str | None = typer.Option(None, help=f"Archive URL (default {DEFAULT_STORAGE})."),
    port: int = typer.Option(8765, help="Port to listen on (0: any free port)."),
    host: str = typer.Option(
        "127.0.0.1", help="Address to listen on. Anything but loopback requires the access token printed at start."
    ),
) -> None:
    """Serve a live, read-only web dashboard of the campaigns in an archive."""
    from evolve.dashboard.app import run_dashboard

    run_dashboard(storage or DEFAULT_STORAGE, name, host, port, announce=lambda line: console.print(line, markup=False))


@app.command()
def report(
    name: str,
    out: Path = typer.Option(Path("report.html"), help="The HTML file to write."),
    top: int = typer.Option(10, help="How many of the best programs to include, with their diffs."),
    storage: str | None = typer.Option(None, help="Archive URL."),
) -> None:
    """Write one self-contained offline HTML report of a campaign."""
    from evolve.dashboard.report import write_report

    path = write_report(storage or DEFAULT_STORAGE, name, out, top=top)
    console.print(str(path), markup=False)


@app.command()
def plot(
    name: str,
    out: Path = typer.Option(Path("plots"), help="Directory for the charts."),
    formats: str = typer.Option("png,svg", "--format", help="Comma-separated: png, svg, pdf."),
    storage: str | None = typer.Option(None, help="Archive URL."),
) -> None:
    """Write a campaign's charts (progress, islands, failures, operators, MAP-Elites) as PNG/SVG files."""
    from evolve.dashboard.plots import write_plots

    for path in write_plots(storage or DEFAULT_STORAGE, name, out, formats=formats.split(",")):
        console.print(str(path), markup=False)


@sandbox_app.command("check")
def sandbox_check() -> None:
    """Tell which sandbox backends work on this machine, and why not."""
    from evolve.sandbox.check import check_backends

    for backend, ok, detail in check_backends():
        console.print(f"{escape(backend)}: {'[green]ok[/]' if ok else '[red]unavailable[/]'} {escape(detail)}")


@config_app.command("import")
def config_import(
    source: Path = typer.Argument(..., help="An OpenEvolve or ShinkaEvolve config (YAML)."),
    out: Path = typer.Option(Path("evolve.toml"), help="The Evolve TOML to write."),
    problem: str | None = typer.Option(None, help="Problem to record in the TOML (e.g. the folder it came with)."),
    force: bool = typer.Option(False, help="Overwrite OUT if it exists."),
) -> None:
    """Write the Evolve TOML equivalent of a peer engine's config: models, islands,
    migration, budget, prompts. Use it with `evolve run PROBLEM --config OUT`."""
    from evolve.config import build_config, read_config_file
    from evolve.config_import import write_imported

    if out.exists() and not force:
        raise EvolveError(f"{out} exists: pass --force to overwrite it, or --out another file")
    written = write_imported(source, out, problem)
    build_config(read_config_file(out))  # the TOML written must be one Evolve accepts
    for path in written:
        console.print(str(path))


@db_app.command("upgrade")
def db_upgrade(storage: str = typer.Argument(DEFAULT_STORAGE, help="Archive URL.")) -> None:
    """Create or migrate the archive schema to the latest version."""
    from evolve.archive import upgrade

    console.print(f"archive at revision {upgrade(storage)}", markup=False)


@db_app.command("export")
def db_export(
    name: str = typer.Argument(..., help="Campaign name."),
    out: Path = typer.Option(..., "--out", help="File to write: .jsonl, .jsonl.gz or .parquet."),
    storage: str = typer.Option(DEFAULT_STORAGE, help="Archive URL the campaign is in."),
) -> None:
    """Export a campaign (programs, LLM calls, islands, events) to a file."""
    from evolve.archive import Archive
    from evolve.archive.transfer import export_records, write_records

    with Archive(storage) as arc:
        n = write_records(out, export_records(arc, name))
    console.print(f"exported campaign {name!r}: {n} records to {out}")


@db_app.command("import")
def db_import(
    file: Path = typer.Argument(..., help="A file written by `evolve db export`."),
    storage: str = typer.Option(DEFAULT_STORAGE, help="Archive URL to import into."),
    name: str | None = typer.Option(None, help="Store it under this campaign name (default: its own)."),
) -> None:
    """Import an exported campaign into an archive (SQLite or PostgreSQL)."""
    from evolve.archive import Archive
    from evolve.archive.transfer import import_records, read_records

    with Archive(storage) as arc:
        cid = import_records(arc, read_records(file), name=name)
        info, n = arc.get_campaign_by_id(cid), arc.count(cid)
    console.print(f"imported campaign {info.name if info else name!r}: {n} programs")


def main(argv: list[str] | None = None) -> None:
    run_app(app, err, lambda: STATE["debug"], argv)
