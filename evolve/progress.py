"""The rich progress display of `evolve run`: evaluations, best score, failures, rate."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evolve.constants import EVALUATED_STATUSES


class RunDisplay:
    def __init__(self, console: Console, budget: int, done: int, objective: str, enabled: bool = True):
        self.objective = objective
        self.started = time.monotonic()
        self.start_done = done
        self.progress = Progress(
            TextColumn("[bold]evolving"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self.task = self.progress.add_task("run", total=budget, completed=done, info="")

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)

    def on_tell(self, record, stats) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = (stats.evaluations + 1 - self.start_done) / elapsed
        best = "-" if stats.best is None else f"{stats.best:.6g}"
        info = (
            f"best {self.objective} {best} | failed {stats.failures} | dup {stats.duplicates} "
            f"| rejected {stats.rejected} | {rate:.2f} eval/s"
        )
        if stats.cost:
            info += f" | ${stats.cost:.4f}"
        self.progress.update(self.task, completed=stats.evaluations + (record.status in EVALUATED_STATUSES), info=info)
