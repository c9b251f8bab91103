"""SOAR hindsight relabelling: a program is a correct answer to the task it solved.

The convention shared with the LLM prompt templates: a proposal prompt carries one line

    Target: <objective name> = <value>

(at the start of a line, anywhere in any message) stating the objective value the child
should reach. For fine-tuning, that value is rewritten to the objective the child
actually achieved, so the model learns "asked for X, produce a program scoring X". A
prompt without such a line gets one appended to its last user message.
"""

from __future__ import annotations

import re
from typing import Any

TARGET_PREFIX = "Target:"
TARGET_LINE = TARGET_PREFIX + " {name} = {value}"
TARGET_RE = re.compile(r"^Target:[ \t]*(?P<name>[^=\n]+?)[ \t]*=[ \t]*(?P<value>[^\s]+)[ \t]*$", re.MULTILINE)


def format_value(value: float) -> str:
    """How objective values are written in prompts (6 significant digits)."""
    return f"{float(value):.6g}"


def target_line(name: str, value: float) -> str:
    return TARGET_LINE.format(name=name, value=format_value(value))


def find_target(messages: list[dict[str, Any]]) -> tuple[str, str] | None:
    """(objective name, value text) of the first Target line, if the prompt has one."""
    for m in messages:
        match = TARGET_RE.search(m.get("content") or "")
        if match:
            return match.group("name"), match.group("value")
    return None


# The LLM prompt templates name the objective as "The score is `<name>`" (prompts.py).
_SCORE_NAME_RE = re.compile(r"The score is `([^`\n]+)`")


def objective_name_of(messages: list[dict[str, Any]], default: str = "score") -> str:
    """The objective's name as a prompt states it: its Target line, else the problem
    statement's "The score is `name`", else ``default``."""
    found = find_target(messages)
    if found:
        return found[0]
    for m in messages:
        match = _SCORE_NAME_RE.search(m.get("content") or "")
        if match:
            return match.group(1)
    return default


def relabel(messages: list[dict[str, Any]], achieved: float, objective_name: str = "score") -> list[dict[str, Any]]:
    """A copy of ``messages`` whose Target line states ``achieved``.

    Existing Target lines keep their objective name; with none, a line naming
    ``objective_name`` is appended to the last user message (or a new user message).
    """
    line_value = format_value(achieved)
    out = [dict(m) for m in messages]
    found = False
    for m in out:
        content = m.get("content") or ""
        new, n = TARGET_RE.subn(lambda mt: TARGET_LINE.format(name=mt.group("name"), value=line_value), content)
        if n:
            m["content"] = new
            found = True
    if found:
        return out
    line = target_line(objective_name, achieved)
    for m in reversed(out):
        if m["role"] == "user":
            m["content"] = (m["content"].rstrip("\n") + "\n\n" + line) if m["content"] else line
            return out
    out.append({"role": "user", "content": line})
    return out
