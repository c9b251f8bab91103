"""``evolve plot``: a campaign's charts as PNG/SVG/PDF files for papers (matplotlib).

The numbers are the dashboard's (``Dashboard`` answers), so a figure and the page agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evolve.archive.views import ArchiveReader
from evolve.dashboard.app import find_campaign
from evolve.dashboard.data import Dashboard
from evolve.errors import ConfigError

FORMATS = ("png", "svg", "pdf")


def _nums(values: list[Any]) -> list[float]:
    return [float("nan") if not isinstance(v, (int, float)) else float(v) for v in values]


def write_plots(
    storage: str, name: str, out: str | Path, formats: list[str] | tuple[str, ...] = ("png", "svg")
) -> list[Path]:
    formats = [f.strip().lower() for f in formats if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ConfigError(f"--format takes {', '.join(FORMATS)} (comma-separated), not {','.join(bad) or 'nothing'}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("plots need matplotlib: pip install 'evolve-search[dashboard]'") from None
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create {out}: {e.strerror}") from None
    with ArchiveReader(storage) as reader:
        dash = Dashboard(reader)
        cid = find_campaign(reader, name, storage)
        summary, prog, ops, div = dash.summary(cid), dash.progress(cid), dash.operators(cid), dash.diversity(cid)

    written: list[Path] = []

    def save(fig, stem: str) -> None:
        fig.tight_layout()
        for fmt in formats:
            path = out / f"{name}_{stem}.{fmt}"
            fig.savefig(path, dpi=160)
            written.append(path)
        plt.close(fig)

    objective = f"objective ({prog['direction']})"
    for key, label in (("evaluations", "evaluations"), ("wall_s", "wall time (s)"), ("dollars", "LLM spend ($)")):
        if key == "dollars" and not summary["spend"]["cost"]:
            continue
        fig, ax = plt.subplots(figsize=(6, 3.6))
        x = _nums(prog["x"][key])
        ax.plot(x, _nums(prog["best"]), label="best", lw=2)
        ax.plot(x, _nums(prog["median"]), ".", label="median (per bin)", ms=3)
        ax.set(xlabel=label, ylabel=objective, title=f"{name}: best and median score")
        ax.legend()
        save(fig, f"progress_{key}")

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for island, values in prog["islands"].items():
        ax.plot(_nums(prog["x"]["evaluations"]), _nums(values), label=f"island {island}")
    ax.set(xlabel="evaluations", ylabel=objective, title=f"{name}: best per island")
    ax.legend(fontsize=7, ncol=2)
    save(fig, "islands")

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for kind, values in prog["failures"].items():
        ax.plot(_nums(prog["x"]["evaluations"]), _nums(values), label=kind)
    for kind in ("duplicate_rate", "reject_rate"):
        ax.plot(_nums(prog["x"]["evaluations"]), _nums(prog["rates"][kind]), "--", label=kind.replace("_", " "))
    ax.set(xlabel="evaluations", title=f"{name}: failures per bin, duplicate and reject rates")
    ax.legend(fontsize=7)
    save(fig, "failures")

    if ops["rows"]:
        fig, ax = plt.subplots(figsize=(7, 0.4 * len(ops["rows"]) + 1.5))
        labels = [f"{r['operator']} · {r['model'] or '-'}" for r in ops["rows"]]
        ax.barh(labels, [r["success_rate"] or 0 for r in ops["rows"]])
        ax.set(xlabel="success rate (ok / proposals)", title=f"{name}: operators")
        ax.tick_params(axis="y", labelsize=7)
        save(fig, "operators")

    grid = div["map_elites"]
    if grid and grid["kind"] == "grid" and grid["cells"]:
        import numpy as np

        dims = grid["dims"]
        nx, ny = int(dims[0][3]), int(dims[1][3]) if len(dims) > 1 else 1
        heat = np.full((ny, nx), np.nan)
        fittest: dict[tuple[int, int], dict] = {}  # several islands (or dims) share a square: keep the fittest
        for cell in grid["cells"]:
            xy = (cell["index"][0], cell["index"][1] if len(cell["index"]) > 1 else 0)
            if xy not in fittest or cell["fitness"] > fittest[xy]["fitness"]:
                fittest[xy] = cell
        for (col, row), cell in fittest.items():
            heat[row, col] = cell["objective"] if isinstance(cell["objective"], (int, float)) else np.nan
        fig, ax = plt.subplots(figsize=(5, 4))
        im = ax.imshow(heat, origin="lower", cmap="viridis", aspect="auto")
        fig.colorbar(im, ax=ax, label="elite objective")
        ax.set(xlabel=dims[0][0], ylabel=dims[1][0] if len(dims) > 1 else "", title=f"{name}: MAP-Elites")
        save(fig, "map_elites")
    return written
