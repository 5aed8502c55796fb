"""Starting a network from another trained network's weights (``[run] init_weights``): the same
network (fine-tuning), a part of it (fewer residual blocks take the first ones of each stage), or
a larger one that at its start computes exactly what the source computed, so training goes on
from the source's quality instead of from scratch (the quality tier grows from the fast model).

Growing keeps the function because nothing old reads anything new: a wider layer holds the
source's weights in its leading channels, the weights by which old channels would read the new
ones are zero, and the new channels are written by freshly initialised weights (so they carry
signal and their readers receive gradients from the first step); a residual block the source
lacks starts as the identity (its second convolution zero); any other new layer starts as the
architecture's ``grown_layers`` says (fresh where nothing old reads it, zero where its output is
added to the old output).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import BrightroomError
from ..nn.blocks import ResidualBlock
from ..nn.registry import load_weights
from ..nn.zoo import weights_path


def source_weights(name: str) -> dict[str, torch.Tensor]:
    """The state dict a run starts from: a zoo model's shipped weights (by name) or a weights file.

    >>> sorted(source_weights("denoise-color"))[:2]
    ['dec0.0.conv1.weight', 'dec0.0.conv2.weight']
    """
    return load_weights(weights_path(name)).state_dict()


def warm_start(model: nn.Module, source: dict[str, torch.Tensor], name: str = "the source") -> str:
    """Load ``source`` (a state dict) into ``model`` as the module docstring says; returns what
    was done in a few words, or raises a clear error where the weights do not fit.

    >>> from brightroom.nn.denoiser import NoiseLevelUNet
    >>> small = NoiseLevelUNet(3, (8, 16, 32), 1).eval()
    >>> large = NoiseLevelUNet(3, (12, 24, 48), 2).eval()
    >>> warm_start(large, small.state_dict())
    'grew 16 of its tensors into wider ones; 5 new residual blocks start as the identity'
    >>> x, sigma = torch.rand(1, 3, 16, 16), torch.full((1, 1, 16, 16), 0.1)
    >>> bool(torch.allclose(large(x, sigma), small(x, sigma), atol=1e-5))
    True
    """
    target = model.state_dict()
    grown_layers = getattr(model, "grown_layers", {})
    loaded, grown, identity, added = {}, 0, set(), set()
    for key, fresh in target.items():
        if key not in source:
            layer = key.rpartition(".")[0]
            block, _, part = layer.rpartition(".")
            if layer in grown_layers:  # a layer the architecture says how to start
                loaded[key] = torch.zeros_like(fresh) if grown_layers[layer] == "zero" else fresh
                added.add(layer)
                continue
            if part not in ("conv1", "conv2") or not isinstance(model.get_submodule(block), ResidualBlock):
                raise BrightroomError(f"the weights in {name} do not fit this model (no tensor '{key}').")
            # a block the source lacks: its first convolution as initialised, read through a zero second one
            loaded[key] = torch.zeros_like(fresh) if part == "conv2" else fresh
            identity.add(block)
            continue
        weights = source[key].to(fresh.dtype)
        if weights.shape == fresh.shape:
            loaded[key] = weights
            continue
        if weights.dim() != fresh.dim() or any(s > t for s, t in zip(weights.shape, fresh.shape)) \
                or weights.shape[2:] != fresh.shape[2:]:
            raise BrightroomError(f"the weights in {name} do not fit this model ('{key}' is "
                                  f"{tuple(weights.shape)} there, {tuple(fresh.shape)} here).")
        loaded[key] = _grown(weights, fresh.clone(), transposed=isinstance(_module(model, key), nn.ConvTranspose2d))
        grown += 1
    model.load_state_dict(loaded)
    left_out = len([key for key in source if key not in target])
    parts = ([f"grew {grown} of its tensors into wider ones"] if grown else []) + \
        ([f"{len(identity)} new residual blocks start as the identity"] if identity else []) + \
        ([f"new layers {', '.join(sorted(added))}"] if added else []) + \
        ([f"{left_out} of its tensors left out"] if left_out else [])
    return "; ".join(parts) or "every tensor as it is"


def _module(model: nn.Module, key: str) -> nn.Module:
    return model.get_submodule(key.rpartition(".")[0])


def _grown(weights: torch.Tensor, fresh: torch.Tensor, transposed: bool) -> torch.Tensor:
    """``fresh`` with ``weights`` in its leading block and zero where an old output would read a
    new input (a weight's dimension 0 is its outputs, 1 its inputs; a transposed convolution's the
    other way round)."""
    outputs, inputs = (1, 0) if transposed else (0, 1)
    old = tuple(slice(0, size) for size in weights.shape)
    fresh[old] = weights
    if fresh.dim() > 1:
        reads_new = [slice(None)] * fresh.dim()
        reads_new[outputs] = slice(0, weights.shape[outputs])
        reads_new[inputs] = slice(weights.shape[inputs], None)
        fresh[tuple(reads_new)] = 0
    return fresh
