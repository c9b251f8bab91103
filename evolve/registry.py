"""Plug-ins by name: one small registry class, one instance per kind of plug-in.

Selection policies (``evolve.archive.selection.SELECTION_POLICIES``), operators
(``evolve.operators.registry.OPERATORS``), sandbox backends
(``evolve.sandbox.registry.SANDBOXES``) and built-in problems
(``evolve.problems.registry.PROBLEMS``) are each a ``Registry``. Configuration
validation, the CLI's ``--help`` and the documentation's tables read the names and
summaries from them, so there is one list per kind.

Built-ins register lazily, as ``"module:attribute"`` strings with a summary, so listing
them (``evolve --help``) imports nothing heavy; user plug-ins register the object::

    from evolve.archive.selection import SELECTION_POLICIES

    @SELECTION_POLICIES.register("youngest")
    class Youngest: ...

This module sits at the bottom of the import graph: it imports only ``evolve.errors``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from evolve.errors import ConfigError

if TYPE_CHECKING:  # pydantic is imported when options are checked, not when a registry loads
    from pydantic import BaseModel

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Entry:
    name: str
    target: object
    """The plug-in, ``"module:attribute"`` or ``"module"`` (imported on first use)."""
    summary: str | None
    options: object
    """Its options model (a pydantic class or ``"module:attribute"``), or None."""


def _load(target: object) -> Any:
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attr) if attr else loaded


class Registry(Generic[T]):
    """Named plug-ins of one kind (``kind`` is how messages call one, e.g. "selection policy").

    A plug-in with settings has an options model: a pydantic class, given as ``options=``
    or found as the plug-in's ``Options`` attribute. ``build(name, options)`` validates
    the options against it and calls the plug-in with the model instance (or with no
    argument when it has no options model)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._loaded: dict[str, Any] = {}

    # -- registering ----------------------------------------------------------------------
    def add(
        self,
        name: str,
        target: T | str,
        summary: str | None = None,
        *,
        options: type[BaseModel] | str | None = None,
        replace: bool = False,
    ) -> None:
        """Register ``target`` (the plug-in, or ``"module:attribute"`` imported on first
        use) under ``name``. A name is taken once unless ``replace`` is true."""
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"a {self.kind} name is letters, digits, '_' and '-', not {name!r}")
        if name in self._entries and not replace:
            raise ValueError(f"a {self.kind} named {name!r} is already registered (pass replace=True to override it)")
        if summary is None and not isinstance(target, str):
            summary = _summary_of(target)
        self._entries[name] = Entry(name, target, summary, options)
        self._loaded.pop(name, None)

    def register(
        self, name: str, summary: str | None = None, *, options: type[BaseModel] | None = None, replace: bool = False
    ) -> Callable[[U], U]:
        """Decorator form of ``add``: ``@REGISTRY.register("name")`` above a class or function
        (what it builds is checked when it is built)."""

        def decorate(target: U) -> U:
            self.add(name, cast(T, target), summary, options=options, replace=replace)
            return target

        return decorate

    def remove(self, name: str) -> None:
        """Forget a registration (tests that register temporary plug-ins clean up with it)."""
        self._entries.pop(name, None)
        self._loaded.pop(name, None)

    # -- using ----------------------------------------------------------------------------
    def get(self, name: str) -> T:
        """The plug-in registered as ``name``; ConfigError naming the choices otherwise."""
        if name not in self._entries:
            raise ConfigError(f"unknown {self.kind} {name!r}; choose one of {self.choices()}")
        if name not in self._loaded:
            self._loaded[name] = _load(self._entries[name].target)
        return cast(T, self._loaded[name])

    def options_model(self, name: str) -> type[BaseModel] | None:
        """The pydantic model of ``name``'s options, or None when it takes none."""
        from pydantic import BaseModel

        entry = self._entries.get(name)
        if entry is None:
            raise ConfigError(f"unknown {self.kind} {name!r}; choose one of {self.choices()}")
        if entry.options is not None:
            return cast(type[BaseModel], _load(entry.options))
        model = getattr(self.get(name), "Options", None)
        return model if isinstance(model, type) and issubclass(model, BaseModel) else None

    def check_options(self, name: str, options: Mapping[str, Any] | BaseModel | None) -> BaseModel | None:
        """``options`` validated against ``name``'s model; ConfigError saying what is wrong."""
        from pydantic import BaseModel, ValidationError

        model = self.options_model(name)
        if model is None:
            if options:
                raise ConfigError(f"the {self.kind} {name!r} takes no options (got {', '.join(dict(options))})")
            return None
        if isinstance(options, model):
            return options
        given = options.model_dump() if isinstance(options, BaseModel) else dict(options or {})
        try:
            return model.model_validate(given)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "options"
            raise ConfigError(f"invalid options for the {self.kind} {name!r}: {where}: {first['msg']}") from None

    def build(self, name: str, options: Mapping[str, Any] | BaseModel | None = None) -> Any:
        """Call the plug-in with its validated options (nothing when it has no model)."""
        plugin = cast(Callable[..., Any], self.get(name))
        checked = self.check_options(name, options)
        return plugin() if checked is None else plugin(checked)

    # -- listing --------------------------------------------------------------------------
    def names(self) -> tuple[str, ...]:
        """Registered names, in registration order (built-ins first)."""
        return tuple(self._entries)

    def summary(self, name: str) -> str:
        entry = self._entries[name]
        return entry.summary if entry.summary is not None else _summary_of(self.get(name))

    def summaries(self) -> dict[str, str]:
        return {name: self.summary(name) for name in self._entries}

    def choices(self, sep: str = ", ") -> str:
        return sep.join(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {self.choices()})"


def _summary_of(target: object) -> str:
    """A plug-in's one-line summary: its ``SUMMARY`` attribute or its docstring's first line."""
    text = getattr(target, "SUMMARY", None)
    if not isinstance(text, str):
        text = inspect.getdoc(target) or ""
    return text.strip().splitlines()[0].strip() if text.strip() else ""
