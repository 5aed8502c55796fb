"""Capabilities, one module each, with every method of a task behind one registry.

All methods of a task share one signature, so the benchmark, the CLI and the
web service can list and run them without knowing them:

- ``denoise``:  ``method(image, sigma) -> image``; ``sigma`` on the 0-255 scale,
  a number or an H x W map. A blind method also takes ``sigma=None`` (its own estimate)
  and ``strength`` (a :class:`~brightroom.tasks.denoise.Strength`).
- ``sr``:       ``method(image, scale) -> image``.
- ``jpeg``:     ``method(image, quality=None, strength=1.0) -> image``: JPEG artifacts removed at
  a libjpeg quality (1-100), or at the one the method reads from the pixels (None).
- ``raw``:      ``method(raw, strength=1.0, profile=None) -> RawImage``: a Bayer mosaic denoised
  before demosaicking, with the sensor's noise profile (measured from the data if not given).

Images are float32 H x W x C in [0, 1] (C = 1 or 3).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
    from . import denoise, denoise_raw, jpeg, super_resolve  # noqa: F401  (importing registers the methods)


def task_names() -> list[str]:
    """The names of all tasks.

    >>> task_names()
    ['denoise', 'jpeg', 'raw', 'sr']
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
        _FOREIGN[task, name] = _method_for_weights(task, name, name[len(FOREIGN_PREFIX):])
    return _FOREIGN[task, name]


def _method_for_weights(task: str, name: str, path: str) -> Method:
    from ..nn import foreign

    if task == "denoise":
        model = foreign.load_foreign_denoiser(path)
        run = lambda image, sigma: foreign.denoise_with_foreign(model, image)  # noqa: E731 (fixed level)
    else:
        model = foreign.load_foreign_upscaler(path)
        run = lambda image, scale: foreign.upscale_with_foreign(model, image, scale)  # noqa: E731
    return Method(task, name, run, f"{model.architecture.name} weights from {Path(path).name}", learned=True)


def register_weights(name: str, path: str | Path) -> Method:
    """Register a checkpoint of a public architecture (spandrel) as the method ``name``: a denoising
    method for a restoration model at scale 1, an upscaling one otherwise. The server does this at
    start for the models its operator names, so a request names a method, never a file.

    >>> register_weights("brightroom", "x.pth")
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: the method name 'brightroom' is taken; name your weights otherwise.
    """
    _load_all()
    if _NAMED_WEIGHTS.get(name, (None,))[0] == str(path):  # the same registration again (a second app)
        return _NAMED_WEIGHTS[name][1]
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", name):
        raise BrightroomError(f"a method name is lower-case letters, digits, '-' and '_', not '{name}'.")
    if any(name in known for known in _REGISTRY.values()):
        raise BrightroomError(f"the method name '{name}' is taken; name your weights otherwise.")
    from ..nn import foreign

    task = "sr" if foreign.is_upscaler(path) else "denoise"
    method = _method_for_weights(task, name, str(path))
    _REGISTRY[task][name] = method
    _NAMED_WEIGHTS[name] = (str(path), method)
    return method


_NAMED_WEIGHTS: dict[str, tuple[str, Method]] = {}
