"""Capabilities, one module each, with every method of a task behind one registry.

All methods of a task share one signature, so the benchmark, the CLI and the
web service can list and run them without knowing them:

- ``denoise``:  ``method(image, sigma) -> image``; ``sigma`` on the 0-255 scale,
  a number or an H x W map. A blind method also takes ``sigma=None`` (its own estimate)
  and ``strength`` (a :class:`~brightroom.tasks.denoise.Strength`).
- ``sr``:       ``method(image, scale) -> image``.

Images are float32 H x W x C in [0, 1] (C = 1 or 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import BrightroomError


@dataclass(frozen=True)
class Method:
    """One way of doing a task."""

    task: str
    name: str
    run: Callable
    summary: str
    learned: bool = False
    blind: bool = False


_REGISTRY: dict[str, dict[str, Method]] = {}


def register(task: str, name: str, summary: str, *, learned: bool = False, blind: bool = False):
    """Decorator adding a function to the registry under ``task``/``name``."""

    def add(function: Callable) -> Callable:
        _REGISTRY.setdefault(task, {})[name] = Method(task, name, function, summary, learned, blind)
        return function

    return add


def _load_all() -> None:
    from . import denoise, super_resolve  # noqa: F401  (importing registers the methods)


def task_names() -> list[str]:
    """The names of all tasks.

    >>> task_names()
    ['denoise', 'sr']
    """
    _load_all()
    return sorted(_REGISTRY)


def methods(task: str) -> dict[str, Method]:
    """The methods of a task, by name.

    >>> "bicubic" in methods("sr")
    True
    """
    _load_all()
    if task not in _REGISTRY:
        raise BrightroomError(f"unknown task '{task}' (known: {', '.join(sorted(_REGISTRY))}).")
    return dict(_REGISTRY[task])


def get_method(task: str, name: str) -> Method:
    """One method of a task; an unknown name is a clear error listing the known ones."""
    known = methods(task)
    if name not in known:
        raise BrightroomError(f"unknown {task} method '{name}' (known: {', '.join(sorted(known))}).")
    return known[name]
