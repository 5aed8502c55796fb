"""Capabilities, one module each, with every method of a task behind one registry.

All methods of a task share one signature, so the benchmark, the CLI and the
web service can list and run them without knowing them:

- ``denoise``:  ``method(image, sigma) -> image``; ``sigma`` on the 0-255 scale,
  a number or an H x W map. A blind method also takes ``sigma=None`` (its own estimate)
  and ``strength`` (a :class:`~brightroom.tasks.denoise.Strength`).
- ``sr``:       ``method(image, scale) -> image``.
- ``raw``:      ``method(raw, strength=1.0, profile=None) -> RawImage``: a Bayer mosaic denoised
  before demosaicking, with the sensor's noise profile (measured from the data if not given).

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
    from . import denoise, denoise_raw, super_resolve  # noqa: F401  (importing registers the methods)


def task_names() -> list[str]:
    """The names of all tasks.

    >>> task_names()
    ['denoise', 'raw', 'sr']
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


FOREIGN_PREFIX = "weights:"


def get_method(task: str, name: str) -> Method:
    """One method of a task; an unknown name is a clear error listing the known ones.
    ``weights:PATH`` names the user's own checkpoint of a public architecture (spandrel)."""
    if name.startswith(FOREIGN_PREFIX) and task in ("denoise", "sr"):
        return _foreign_method(task, name)
    known = methods(task)
    if name not in known:
        raise BrightroomError(f"unknown {task} method '{name}' (known: {', '.join(sorted(known))}).")
    return known[name]


_FOREIGN: dict[tuple[str, str], Method] = {}


def _foreign_method(task: str, name: str) -> Method:
    """A method for a checkpoint file, loaded once per process (never by default, never downloaded)."""
    if (task, name) not in _FOREIGN:
        from ..nn import foreign

        path = name[len(FOREIGN_PREFIX):]
        if task == "denoise":
            model = foreign.load_foreign_denoiser(path)
            run = lambda image, sigma: foreign.denoise_with_foreign(model, image)  # noqa: E731 (fixed level)
        else:
            model = foreign.load_foreign_upscaler(path)
            run = lambda image, scale: foreign.upscale_with_foreign(model, image, scale)  # noqa: E731
        _FOREIGN[task, name] = Method(task, name, run, f"{model.architecture.name} weights from {path}", learned=True)
    return _FOREIGN[task, name]
