"""What the command line needs besides its commands: turning every failure into one
line on stderr with the right exit code, and merging a config file with flags.

Exit codes: 0 done, 1 a failed evaluation (``evolve score``) or an unexpected error,
2 anything the user can fix (bad flag, bad value, unknown campaign, unusable storage,
a sandbox that cannot work here, ...), 130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from evolve.errors import ConfigError, EvolveError

USAGE = 2
UNEXPECTED = 1
INTERRUPTED = 130


def one_line(text: object, limit: int = 500) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _usage_message(e: typer.TyperException) -> str:
    message = one_line(e.format_message())
    ctx = getattr(e, "ctx", None)
    path = getattr(ctx, "command_path", None)
    return f"{message} (see '{path} --help')" if path else message


def _storage_message(e: Exception) -> str | None:
    """Database errors a user causes (read-only file, unreachable server, full disk)."""
    from evolve.archive.db import database_error_reason  # telling database errors apart is the archive's

    reason = database_error_reason(e)
    return None if reason is None else f"the archive database cannot be used: {one_line(reason)}"


def run_app(app: Callable[..., Any], err: Console, debug: Callable[[], bool], argv: list[str] | None = None) -> None:
    """Run the typer ``app`` and exit with the code the failure deserves."""
    try:
        code = app(args=argv, standalone_mode=False)  # usage errors come back as exceptions
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(INTERRUPTED)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(INTERRUPTED)
    except typer.TyperException as e:  # bad value, unknown option, missing argument, ...
        if type(e).__name__ == "NoArgsIsHelpError":  # a bare `evolve` or `evolve db`: the help
            print(e.format_message())
            sys.exit(0)
        _fail(err, _usage_message(e), getattr(e, "exit_code", USAGE) or USAGE)
    except EvolveError as e:
        if debug():
            raise
        _fail(err, one_line(e), USAGE)
    except Exception as e:
        if debug():
            raise
        storage = _storage_message(e)
        if storage is not None:
            _fail(err, storage, USAGE)
        _fail(
            err,
            f"unexpected {type(e).__name__}: {one_line(e, 300)} (run with --debug for the traceback)",
            UNEXPECTED,
        )
    if isinstance(code, int) and code:
        sys.exit(code)


def _fail(err: Console, message: str, code: int) -> None:
    err.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


def run_settings(
    problem: str | None, config: Path | None, flags: dict[str, Any], read_config_file: Callable[[Path], dict]
) -> tuple[str, dict[str, Any]]:
    """The problem and the settings of ``evolve run``: the config file, then the flags
    (flags win). The positional problem may be left out when the config names one."""
    settings: dict[str, Any] = read_config_file(config) if config else {}
    settings.update({k: v for k, v in flags.items() if v is not None})
    named = settings.pop("problem", None)
    if problem is not None and named is not None and str(named) != problem:
        raise ConfigError(
            f"the config file {config} names problem {named!r} but the command line says {problem!r}: keep one"
        )
    chosen = problem if problem is not None else named
    if chosen is None:
        raise ConfigError('no problem given: write `evolve run PROBLEM`, or problem = "..." in the config file')
    return str(chosen), settings


def llm_overrides(
    settings: dict[str, Any],
    models: list[str],
    max_cost: float | None,
    price_in: float | None,
    price_out: float | None,
) -> None:
    """Fold --model / --max-cost / --price-in / --price-out into the [llm] section."""
    if not (models or max_cost is not None or price_in is not None or price_out is not None):
        return
    llm = dict(settings.get("llm") or {})
    if models:
        llm["models"] = [{"spec": m} for m in models]
    if price_in is not None or price_out is not None:
        if not llm.get("models"):
            raise ConfigError("--price-in/--price-out set the price of --model: give a model")
        priced = []
        for m in llm["models"]:
            m = {"spec": m} if isinstance(m, str) else dict(m)
            if price_in is not None:
                m["price_in_per_mtok"] = price_in
            if price_out is not None:
                m["price_out_per_mtok"] = price_out
            priced.append(m)
        llm["models"] = priced
    if max_cost is not None:
        llm["max_cost"] = max_cost
    settings["llm"] = llm
