"""Prompts for every operator kind, from ``templates/*.txt``.

Templates use ``string.Template`` placeholders (``$program``), so code with braces never
needs escaping. A user overrides any of them by putting a file with the same name in
``templates_dir``; unknown placeholders are refused when the operator is built.

The sections a template can use are rendered here: the problem, a program with its
metrics, evaluator feedback, failure reason and thought, the inspirations, the island's
long-term reflection and the short-term hints before a crossover.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from string import Template

from evolve.errors import OperatorError
from evolve.operators.base import Parent, ProblemBrief, ProposalRequest
from evolve.operators.llm.client import Message

# template name -> the placeholders it may use
PLACEHOLDERS: dict[str, set[str]] = {
    "system": {"problem", "objective"},
    "diff": {"problem", "program", "inspirations", "reflection", "objective", "target"},
    "rewrite": {"problem", "program", "inspirations", "reflection", "objective", "target"},
    "crossover_e1": {"problem", "parents", "inspirations", "reflection", "hints", "objective", "target"},
    "crossover_e2": {"problem", "parents", "inspirations", "reflection", "hints", "objective", "target"},
    "reflect_short": {"problem", "better", "worse", "objective"},
    "reflect_long": {"problem", "prior", "hints", "objective"},
}
MAX_TEXT = 2000  # characters of a traceback or feedback shown per program


class Prompts:
    def __init__(self, templates_dir: str | Path | None = None) -> None:
        self.templates: dict[str, Template] = {}
        builtin = resources.files("evolve.operators.llm") / "templates"
        override = Path(templates_dir).expanduser() if templates_dir else None
        if override is not None and not override.is_dir():
            raise OperatorError(f"templates_dir {override} is not a directory: point it at a folder of *.txt templates")
        for name, allowed in PLACEHOLDERS.items():
            path = override / f"{name}.txt" if override is not None else None
            text = path.read_text() if path is not None and path.exists() else (builtin / f"{name}.txt").read_text()
            template = Template(text)
            if not template.is_valid():
                raise OperatorError(f"prompt template {name}.txt has a stray '$': write $$ for a literal dollar sign")
            unknown = set(template.get_identifiers()) - allowed
            if unknown:
                raise OperatorError(
                    f"prompt template {name}.txt uses unknown placeholders {sorted(unknown)}: it may use {sorted(allowed)}"
                )
            self.templates[name] = template

    def render(self, name: str, **values: str) -> str:
        return self.templates[name].substitute({k: values.get(k, "") for k in PLACEHOLDERS[name]}).strip() + "\n"

    def _chat(self, name: str, problem: ProblemBrief, **values: str) -> list[Message]:
        common = {"problem": render_problem(problem), "objective": problem.objective}
        return [
            {"role": "system", "content": self.render("system", **common)},
            {"role": "user", "content": self.render(name, **common, **values)},
        ]

    def mutation(self, kind: str, request: ProposalRequest) -> list[Message]:
        """``kind`` is 'diff' or 'rewrite'; the primary parent is the program to change."""
        return self._chat(
            kind,
            request.problem,
            program=render_program(request.parents[0], request.problem),
            inspirations=render_inspirations(request),
            reflection=render_reflection(request.reflection),
            target=render_target(request),
        )

    def crossover(self, variant: str, request: ProposalRequest, hints: str | None) -> list[Message]:
        """``variant`` is 'e1' (a different form) or 'e2' (the common backbone)."""
        parents = "\n\n".join(
            render_program(p, request.problem, label=f"Parent {i}") for i, p in enumerate(request.parents, 1)
        )
        return self._chat(
            f"crossover_{variant}",
            request.problem,
            parents=parents,
            inspirations=render_inspirations(request),
            reflection=render_reflection(request.reflection),
            hints=f"# Hints from comparing the parents\n{hints.strip()}\n\n" if hints else "",
            target=render_target(request),
        )

    def reflect_short(self, request: ProposalRequest, better: Parent, worse: Parent) -> list[Message]:
        p = request.problem
        return self._chat("reflect_short", p, better=render_program(better, p), worse=render_program(worse, p))

    def reflect_long(self, request: ProposalRequest, hints: str) -> list[Message]:
        prior = (request.reflection or "").strip() or "(none yet)"
        return self._chat("reflect_long", request.problem, prior=prior, hints=hints.strip())


def render_problem(problem: ProblemBrief) -> str:
    better = "higher" if problem.direction == "max" else "lower"
    return (
        f"# Problem: {problem.name}\n{problem.description.strip()}\n\n"
        f"The score is `{problem.objective}`: {better} is better. "
        f"The evaluator calls the function `{problem.entry_point}`."
    )


def _number(value: float | None) -> str:
    return "none" if value is None else f"{value:.6g}"


def render_program(parent: Parent, problem: ProblemBrief, label: str = "Program") -> str:
    lines = [f"## {label} ({problem.objective} = {_number(parent.objective)})"]
    if parent.thought:
        lines.append(f"Idea: {parent.thought.strip()}")
    others = {k: v for k, v in parent.metrics.items() if k != problem.objective}
    if others:
        lines.append("Metrics: " + ", ".join(f"{k} = {_number(v)}" for k, v in sorted(others.items())))
    if parent.status != "ok":
        lines.append(f"Status: {parent.status}")
        if parent.reason:
            lines.append(f"Failure:\n```\n{_tail(parent.reason)}\n```")
    if parent.feedback:
        lines.append(f"Evaluator feedback:\n{_tail(parent.feedback)}")
    lines.append(f"```python\n{parent.code.rstrip()}\n```")
    return "\n".join(lines)


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_TEXT else "...\n" + text[-MAX_TEXT:]  # a traceback's end says the most


def render_inspirations(request: ProposalRequest) -> str:
    if not request.inspirations:
        return ""
    shown = "\n\n".join(
        render_program(p, request.problem, label=f"Other program {i}") for i, p in enumerate(request.inspirations, 1)
    )
    return f"# Other programs from the archive, for inspiration\n{shown}\n\n"


def render_reflection(reflection: str | None) -> str:
    if not reflection or not reflection.strip():
        return ""
    return f"# Insights from earlier attempts\n{reflection.strip()}\n\n"


def render_target(request: ProposalRequest) -> str:
    """The hindsight line shared with fine-tuning (evolve/finetune/hindsight.py):
    ``Target: <objective> = <value>``, here the best score among the programs shown.
    SFT rewrites the value to what the child actually reached."""
    shown = [p.objective for p in [*request.parents, *request.inspirations] if p.objective is not None]
    if not shown:
        return ""
    best = max(shown) if request.problem.direction == "max" else min(shown)
    return f"Target: {request.problem.objective} = {_number(best)}"
