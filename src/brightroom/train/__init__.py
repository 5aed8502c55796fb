"""Training: patch datasets over folders of images, the shared loop, one module per task."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import BrightroomError
from .config import load_config

TASKS = ("denoise", "jpeg", "raw", "real", "sr")


def run_training(task: str, config_name: str, *, resume: bool = False, max_steps: int | None = None,
                 progress: Callable[[str], None] = print) -> dict:
    """Train the model a config describes; see ``train/configs/`` for the shipped ones.

    >>> run_training("paint", "denoise-color")
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: unknown training task 'paint' (known: denoise, jpeg, raw, real, sr).
    """
    if task not in TASKS:
        raise BrightroomError(f"unknown training task '{task}' (known: {', '.join(TASKS)}).")
    config = load_config(config_name)
    if config.get("task") != task:
        raise BrightroomError(f"config '{config_name}' is for task '{config.get('task')}', not '{task}'.")
    from importlib import import_module

    from .loop import train

    task_module = import_module(f".{task}", __name__)

    model, make_batch, validate = task_module.prepare(config)
    return train(config, model, make_batch, validate, resume=resume, max_steps=max_steps, progress=progress,
                 loss=getattr(task_module, "training_loss", None))
