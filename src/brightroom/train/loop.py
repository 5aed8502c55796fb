"""The training loop shared by every task: Adam with cosine decay, L1 loss,
bf16 autocast where the machine has it, checkpoints that resume exactly, and a JSONL log.

A task supplies three things: the model, ``make_batch(rng, overrides) -> (inputs, target)``
and ``validate(model) -> PSNR in dB``. A model may return ``(output, auxiliary loss)`` in
training (the real-photo denoiser's noise estimator): the loss adds it, times
``[optim] auxiliary_weight`` (default 1).

Checkpoints (``[run] checkpoint``) stay on the machine that trains and are never committed;
``--resume`` continues from one where it is there, else from the shipped weights. A batch may carry a third item, per-sample loss
weights (N,): the loss is then the weighted mean of each sample's L1.

A config may add stages after its main schedule (``[[stage]]`` tables): each is a warm
restart with its own ``steps``, ``lr``, ``lr_min`` and ``warmup`` (a linear ramp of the rate over
its first steps; also in ``[optim]``) and may override task sections for
its batches (``noise = { low_sigma_fraction = 0.5 }``). The step number alone says which
stage runs, so one command reproduces the whole run and ``--resume`` continues any stage.

A run grown from another model (``[run] init_weights``) may train what it inherited more gently
than what is new: ``inherited_lr_scale`` (in ``[optim]``, or a stage's own) multiplies the rate of
every tensor that kept its source's shape (the new layers, and the layers grown wider, take the
full rate).
"""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import BrightroomError
from ..nn.registry import load_weights, read_metadata, save_weights
from ..nn.runtime import native_bf16
from ..nn.zoo import weights_path
from .config import model_arguments
from .warm_start import source_weights, warm_start

MakeBatch = Callable[[np.random.Generator, dict], tuple]  # (model inputs, target[, per-sample weights])
Validate = Callable[[torch.nn.Module], float]


def cosine_lr(step: int, total: int, lr: float, lr_min: float) -> float:
    """Cosine decay from ``lr`` at step 0 to ``lr_min`` at ``total``.

    >>> cosine_lr(0, 100, 1e-3, 0.0), cosine_lr(100, 100, 1e-3, 0.0)
    (0.001, 0.0)
    """
    progress = min(step / max(total, 1), 1.0)
    return lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * progress))


SCHEDULE_KEYS = ("steps", "lr", "lr_min", "warmup", "inherited_lr_scale")


def schedule(config: dict) -> list[dict]:
    """The run's stages in order: the main ``[optim]`` schedule, then each ``[[stage]]``.

    Each stage is a dict with ``start``, ``steps``, ``lr``, ``lr_min`` and ``overrides``
    (the task sections it changes).

    >>> stages = schedule({"optim": {"steps": 10, "lr": 1e-3, "lr_min": 0.0},
    ...                    "stage": [{"steps": 5, "lr": 1e-4, "noise": {"low_sigma_fraction": 0.5}}]})
    >>> [(s["start"], s["steps"], s["lr"], s["overrides"]) for s in stages]
    [(0, 10, 0.001, {}), (10, 5, 0.0001, {'noise': {'low_sigma_fraction': 0.5}})]
    """
    optim = config["optim"]
    inherited = float(optim.get("inherited_lr_scale", 1.0))
    stages = [{"start": 0, "steps": int(optim["steps"]), "lr": float(optim["lr"]),
               "lr_min": float(optim["lr_min"]), "warmup": int(optim.get("warmup", 0)),
               "inherited_lr_scale": inherited, "overrides": {}}]
    for extra in config.get("stage", []):
        if "steps" not in extra or "lr" not in extra:
            raise BrightroomError("every [[stage]] of a training config needs 'steps' and 'lr'.")
        stages.append({
            "start": stages[-1]["start"] + stages[-1]["steps"],
            "steps": int(extra["steps"]),
            "lr": float(extra["lr"]),
            "lr_min": float(extra.get("lr_min", optim["lr_min"])),
            "warmup": int(extra.get("warmup", 0)),
            "inherited_lr_scale": float(extra.get("inherited_lr_scale", inherited)),
            "overrides": {k: v for k, v in extra.items() if k not in SCHEDULE_KEYS},
        })
    return stages


def parameter_groups(model: torch.nn.Module, source: dict | None) -> list[dict]:
    """The optimizer's parameter groups: one, or, given ``source`` (the weights the run started
    from), the tensors that keep the shape they have there apart from the rest (``inherited`` True
    and False), so a stage may scale the inherited ones' rate (``inherited_lr_scale``).

    >>> net = torch.nn.Linear(2, 2)
    >>> [g["inherited"] for g in parameter_groups(net, None)]
    [False]
    >>> [len(g["params"]) for g in parameter_groups(net, {"weight": net.weight})]
    [1, 1]
    """
    if source is None:
        return [{"params": list(model.parameters()), "inherited": False}]
    inherited, new = [], []
    for key, tensor in model.named_parameters():
        (inherited if key in source and source[key].shape == tensor.shape else new).append(tensor)
    return [{"params": inherited, "inherited": True}, {"params": new, "inherited": False}]


def stage_at(stages: list[dict], step: int) -> tuple[dict, float]:
    """The stage that runs ``step`` and its learning rate (cosine decay within each stage, after a
    linear ramp over its first ``warmup`` steps where it has one).

    >>> stages = schedule({"optim": {"steps": 10, "lr": 1.0, "lr_min": 0.0}, "stage": [{"steps": 10, "lr": 0.5}]})
    >>> [round(stage_at(stages, step)[1], 3) for step in (0, 5, 9, 10, 15)]
    [1.0, 0.5, 0.024, 0.5, 0.25]
    >>> warm = schedule({"optim": {"steps": 100, "lr": 1.0, "lr_min": 0.0, "warmup": 4}})
    >>> [round(stage_at(warm, step)[1], 3) for step in (0, 1, 3, 4)]
    [0.25, 0.5, 0.998, 0.996]
    """
    current = next((s for s in reversed(stages) if step >= s["start"]), stages[0])
    into = step - current["start"]
    ramp = min(1.0, (into + 1) / current["warmup"]) if current.get("warmup") else 1.0
    return current, ramp * cosine_lr(into, current["steps"], current["lr"], current["lr_min"])


def weighted_l1(output: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """L1 loss; with per-sample ``weights`` (N,), the weighted mean of each sample's mean error.

    >>> target = torch.zeros(2, 1, 2, 2)
    >>> output = torch.stack([torch.full((1, 2, 2), 1.0), torch.full((1, 2, 2), 3.0)])
    >>> float(weighted_l1(output, target)), float(weighted_l1(output, target, torch.tensor([3.0, 1.0])))
    (2.0, 1.5)
    """
    if weights is None:
        return F.l1_loss(output, target)
    per_sample = (output - target).abs().flatten(1).mean(dim=1)
    return (per_sample * weights).sum() / weights.sum()


def output_path(config: dict) -> Path:
    """Where a run writes its weights: ``[run] output``, else the zoo's file for the config's name.

    >>> output_path({"name": "denoise-gray", "run": {}}).stem
    'denoise-gray'
    """
    if config["run"].get("output"):
        return Path(config["run"]["output"])
    return weights_path(config.get("name", ""))


def _compact_optimizer_state(state: dict) -> dict:
    """Adam's moments in bfloat16: halves the checkpoint.

    ``state_dict()`` shares the live per-parameter dicts, so new ones are built.
    """
    compact = {
        index: {key: value.to(torch.bfloat16) if key in ("exp_avg", "exp_avg_sq") else value
                for key, value in per_param.items()}
        for index, per_param in state["state"].items()
    }
    return {**state, "state": compact}


def _expand_optimizer_state(state: dict) -> dict:
    for per_param in state["state"].values():
        for key in ("exp_avg", "exp_avg_sq"):
            per_param[key] = per_param[key].float()
    return state


def train(
    config: dict,
    model: torch.nn.Module,
    make_batch: MakeBatch,
    validate: Validate,
    *,
    resume: bool = False,
    max_steps: int | None = None,
    progress: Callable[[str], None] = print,
    loss: Callable[[torch.Tensor, object], torch.Tensor] | None = None,
) -> dict:
    """Run (or resume) a training run as the config says; returns the last log record.

    ``max_steps`` stops early (smoke tests) without changing the schedule. ``loss(output, target)``
    replaces the L1 loss where a task compares in its own way (the RAW denoiser compares developed
    images; its target is then a tuple of tensors).
    """
    optim, run = config["optim"], config["run"]
    stages = schedule(config)
    total_steps = stages[-1]["start"] + stages[-1]["steps"]
    checkpoint_path = Path(run["checkpoint"])
    log_path = Path(run["log"])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    precision = run.get("precision", "fp32")
    if precision == "auto":  # bf16 where the machine has it natively; emulated bf16 is slower than fp32
        precision = "bf16" if native_bf16() else "fp32"
    if precision not in ("bf16", "fp32"):
        raise BrightroomError(f"[run] precision must be auto, bf16 or fp32, not '{precision}'.")
    autocast_dtype = {"bf16": torch.bfloat16, "fp32": None}[precision]
    model.to(device)
    scaled = any(stage["inherited_lr_scale"] != 1.0 for stage in stages)
    if scaled and not run.get("init_weights"):
        raise BrightroomError("inherited_lr_scale needs [run] init_weights (what is inherited).")
    # the source's weights: to start from (a fresh run) and to tell what is inherited (scaled runs)
    source = source_weights(run["init_weights"]) if run.get("init_weights") and (scaled or not resume) else None
    groups = parameter_groups(model, source if scaled else None)
    optimizer = torch.optim.Adam(groups, lr=float(optim["lr"]))
    rng = np.random.default_rng(int(run.get("seed", 0)))
    torch.manual_seed(int(run.get("seed", 0)))
    step, elapsed = 0, 0.0

    weights_file = output_path(config)
    if resume and checkpoint_path.is_file():
        saved = torch.load(checkpoint_path, map_location=device, weights_only=False)
        model.load_state_dict(saved["model"])
        if len(saved["optimizer"]["param_groups"]) != len(groups):
            raise BrightroomError(f"the checkpoint at '{checkpoint_path}' was saved with inherited_lr_scale "
                                  "set differently (on or off); resume it with the config it was saved with.")
        optimizer.load_state_dict(_expand_optimizer_state(saved["optimizer"]))
        for group, configured in zip(optimizer.param_groups, groups):
            group["inherited"] = configured["inherited"]
        rng.bit_generator.state = saved["rng"]
        torch.set_rng_state(saved["torch_rng"])
        step, elapsed = saved["step"], saved["elapsed"]
        progress(f"resumed from {checkpoint_path} at step {step}")
    elif resume:
        # Checkpoints stay on the machine that trained; elsewhere a run continues from the shipped
        # weights, whose metadata holds the step and time reached. Adam's moments start afresh.
        if not weights_file.is_file():
            raise BrightroomError(f"cannot resume: no checkpoint at '{checkpoint_path}' and no weights at "
                                  f"'{weights_file}'.")
        model.load_state_dict(load_weights(weights_file).state_dict())
        record = read_metadata(weights_file)
        step, elapsed = int(record.get("steps", 0)), float(record.get("train_seconds", 0))
        rng = np.random.default_rng([int(run.get("seed", 0)), step])  # not the batches already seen
        progress(f"resumed from the weights in {weights_file} at step {step} (the optimizer's state restarts)")
    elif run.get("init_weights"):
        # Fine-tuning, or growing: start from another trained model's weights (train/warm_start.py)
        done = warm_start(model, source, f"'{run['init_weights']}'")
        model.to(device)
        progress(f"starting from the weights in {run['init_weights']}: {done}")

    def save_checkpoint() -> None:
        checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = checkpoint_path.with_name(checkpoint_path.name + ".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": _compact_optimizer_state(optimizer.state_dict()),
                "rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                "step": step,
                "elapsed": elapsed,
                "config": config,
            },
            tmp,
        )
        tmp.replace(checkpoint_path)

    def export(val_psnr: float | None) -> None:
        model_config = model_arguments(config)
        extra = {"steps": str(step), "train_seconds": f"{elapsed:.0f}", "name": config.get("name", "")}
        if val_psnr is not None:
            extra["validation_psnr"] = f"{val_psnr:.3f}"
        weights_file.parent.mkdir(parents=True, exist_ok=True)
        save_weights(model, weights_file, config["model"]["architecture"], model_config, extra)

    log_path.parent.mkdir(parents=True, exist_ok=True)
    stop_at = total_steps if max_steps is None else min(total_steps, step + max_steps)
    # SIGTERM or Ctrl-C ends the run after the current step with a checkpoint, so --resume loses nothing.
    stop_requested = []
    previous_handlers = {sig: signal.signal(sig, lambda *_: stop_requested.append(True))
                         for sig in (signal.SIGTERM, signal.SIGINT)}
    losses: list[float] = []
    record: dict = {}
    with log_path.open("a") as log:
        while step < stop_at:
            started = time.perf_counter()
            stage, lr = stage_at(stages, step)
            for group in optimizer.param_groups:
                group["lr"] = lr * (stage["inherited_lr_scale"] if group["inherited"] else 1.0)
            inputs, target, *weights = make_batch(rng, stage["overrides"])
            inputs = tuple(t.to(device) if isinstance(t, torch.Tensor) else t for t in inputs)
            target = tuple(t.to(device) for t in target) if isinstance(target, tuple) else target.to(device)
            model.train()
            with torch.autocast(device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None):
                output = model(*inputs)
            auxiliary = None
            if isinstance(output, tuple):  # a model with a sub-network of its own to supervise
                output, auxiliary = output
            if loss is not None:
                batch_loss = loss(output.float(), target)
            else:
                batch_loss = weighted_l1(output.float(), target, weights[0].to(device) if weights else None)
            if auxiliary is not None:
                batch_loss = batch_loss + float(optim.get("auxiliary_weight", 1.0)) * auxiliary.float()
            optimizer.zero_grad(set_to_none=True)
            batch_loss.backward()
            optimizer.step()
            losses.append(batch_loss.item())
            step += 1
            elapsed += time.perf_counter() - started

            is_last = step == stop_at or bool(stop_requested)
            validating = step % int(run["validate_every"]) == 0 or is_last
            if step % 100 == 0 or validating:
                record = {"step": step, "loss": float(np.mean(losses)), "lr": lr,
                          "seconds": round(elapsed, 1)}
                losses.clear()
                if validating:
                    model.eval()
                    with torch.no_grad():
                        record["val_psnr"] = round(validate(model), 3)
                    export(record["val_psnr"])
                log.write(json.dumps(record) + "\n")
                log.flush()
                progress(json.dumps(record))
            if step % int(run["checkpoint_every"]) == 0 or is_last:
                save_checkpoint()
            if stop_requested:
                progress(f"stopped at step {step}; continue with --resume")
                break
    for sig, handler in previous_handlers.items():
        signal.signal(sig, handler)
    return record
