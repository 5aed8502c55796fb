"""Recipes: an ordered list of task steps applied to a photo, and the "auto" recipe
chosen from the image itself.

>>> import numpy as np
>>> from brightroom.io import Photo
>>> photo = Photo(np.full((32, 32, 3), 0.5, np.float32), None, 8, "png", None, None)
>>> [step.task for step in auto_recipe(photo.pixels, upscale=2)]
['sr']
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from .errors import BrightroomError
from .io import Photo
from .metrics import estimate_noise_sigma
from .tasks import get_method
from .tasks.denoise import check_image, denoise
from .tasks.super_resolve import check_scale, upscale
from .resize import imresize

# Below this estimated sigma (0-255 scale) an image is treated as clean.
NOISE_THRESHOLD = 1.0


@dataclass(frozen=True)
class Step:
    """One task in a recipe: ``task`` ('denoise' or 'sr'), its method and options."""

    task: str
    method: str
    options: dict = field(default_factory=dict)

    def describe(self) -> str:
        options = ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in self.options.items())
        return f"{self.task} ({self.method}{', ' + options if options else ''})"


def best_denoise_method(channels: int = 3) -> str:
    """The learned denoiser where its weights are shipped, else BM3D.

    >>> best_denoise_method() in ("brightroom", "bm3d")
    True
    """
    from .nn.registry import has_shipped_weights
    from .tasks.denoise import learned_denoiser_name

    return "brightroom" if has_shipped_weights(learned_denoiser_name(channels)) else "bm3d"


def auto_recipe(pixels: np.ndarray, *, upscale: int | None = None) -> list[Step]:
    """Denoise with the best method if the image is noisy, then upscale if asked."""
    pixels = check_image(pixels)
    steps = []
    sigma = estimate_noise_sigma(pixels)
    if sigma >= NOISE_THRESHOLD:
        steps.append(Step("denoise", best_denoise_method(pixels.shape[2]), {"sigma": round(sigma, 2)}))
    if upscale:
        steps.append(Step("sr", "bicubic", {"scale": check_scale(upscale)}))
    return steps


def run_recipe(photo: Photo, steps: list[Step], progress: Callable[[str], None] | None = None) -> Photo:
    """Apply the steps in order; alpha follows upscaling, metadata is kept."""
    pixels, alpha = photo.pixels, photo.alpha
    for step in steps:
        get_method(step.task, step.method)  # fail early on an unknown method
        if progress:
            progress(step.describe())
        if step.task == "denoise":
            pixels = denoise(pixels, sigma=step.options.get("sigma"), method=step.method)
        elif step.task == "sr":
            scale = check_scale(step.options.get("scale"))
            pixels = upscale(pixels, scale, method=step.method)
            if alpha is not None:
                alpha = np.clip(imresize(alpha, scale), 0.0, 1.0)
        else:
            raise BrightroomError(f"a recipe cannot run task '{step.task}'.")
    return replace(photo, pixels=pixels, alpha=alpha)


def enhance(photo: Photo, *, upscale: int | None = None, progress: Callable[[str], None] | None = None) -> Photo:
    """The main job: the auto recipe for this photo, run.

    >>> from brightroom.degrade import add_gaussian_noise
    >>> noisy = Photo(add_gaussian_noise(np.full((64, 64, 1), 0.5, np.float32), 10), None, 8, "png", None, None)
    >>> bool(enhance(noisy).pixels.std() < noisy.pixels.std() / 3)
    True
    """
    return run_recipe(photo, auto_recipe(photo.pixels, upscale=upscale), progress)
