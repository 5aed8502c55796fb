"""Recipes: what to do to a photo (``Recipe``, also named in batch jobs as 'auto',
'denoise+upscale2', ...), the ordered task steps it becomes for one image, and the
"auto" recipe chosen from the image itself.

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
from .tasks.denoise import check_image, check_sigma, denoise, is_auto, resolve_sigma
from .tasks.super_resolve import SCALES, check_scale, upscale
from .resize import imresize

# Below this estimated sigma (0-255 scale) an image is treated as clean.
NOISE_THRESHOLD = 1.0

# Upscaling models: name -> (shipped weights, registered sr method).
UPSCALE_MODELS = {"classic": ("sr-classic", "brightroom"), "real": ("sr-real", "brightroom-real")}


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


def best_upscale_method(model: str = "real") -> str:
    """The learned upscaler of the given kind ('classic' or 'real') where shipped, else bicubic.

    >>> best_upscale_method("classic") in ("brightroom", "bicubic")
    True
    """
    from .nn.registry import has_shipped_weights

    if model not in UPSCALE_MODELS:
        raise BrightroomError(f"--model must be {' or '.join(UPSCALE_MODELS)}, not '{model}'.")
    weights, method = UPSCALE_MODELS[model]
    return method if has_shipped_weights(weights) else "bicubic"


def auto_recipe(pixels: np.ndarray, *, upscale: int | None = None) -> list[Step]:
    """Denoise with the best method if the image is noisy, then upscale if asked (with the
    real-photo model where it is shipped, since a noisy photo's degradations are not bicubic)."""
    pixels = check_image(pixels)
    steps = []
    sigma = estimate_noise_sigma(pixels)
    if sigma >= NOISE_THRESHOLD:
        steps.append(Step("denoise", best_denoise_method(pixels.shape[2]), {"sigma": round(sigma, 2)}))
    if upscale:
        steps.append(Step("sr", best_upscale_method("real"), {"scale": check_scale(upscale)}))
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


ENHANCE_MODES = ("auto", "denoise", "off")
RECIPE_PARTS = ("auto", "denoise", *(f"upscale{scale}" for scale in SCALES))
RECIPE_HELP = "'auto', 'denoise', 'upscale2', 'upscale3', 'upscale4', or two joined with '+' (e.g. 'auto+upscale2')"


@dataclass(frozen=True)
class Recipe:
    """What to do to a photo.

    ``enhance`` is 'auto' (denoise with the best method when the photo is noisy,
    leave a clean photo alone), 'denoise' (always denoise; ``sigma`` on the
    0-255 scale, None to estimate it) or 'off'. ``method`` picks the denoising
    method (default: the best shipped one). ``upscale`` is None, 2, 3 or 4, with
    ``upscale_method`` (default: the pipeline's choice, as in ``auto_recipe``).
    Every option is checked on construction; a bad one is a BrightroomError.

    >>> Recipe("denoise", sigma=15, method="nlm").describe()
    'denoise (nlm, sigma 15)'
    >>> Recipe("auto", sigma=15)
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: sigma applies to enhance 'denoise' only; 'auto' estimates the noise itself.
    """

    enhance: str = "auto"
    sigma: float | None = None
    method: str | None = None
    upscale: int | None = None
    upscale_method: str | None = None

    def __post_init__(self) -> None:
        if self.enhance not in ENHANCE_MODES:
            raise BrightroomError(f"enhance must be one of {', '.join(ENHANCE_MODES)}, not '{self.enhance}'.")
        if is_auto(self.sigma):
            object.__setattr__(self, "sigma", None)
        if self.sigma is not None:
            if self.enhance != "denoise":
                raise BrightroomError(
                    f"sigma applies to enhance 'denoise' only; '{self.enhance}' "
                    + ("estimates the noise itself." if self.enhance == "auto" else "does not denoise.")
                )
            object.__setattr__(self, "sigma", check_sigma(self.sigma))
        if self.method is not None:
            if self.enhance == "off":
                raise BrightroomError("a denoising method applies only when enhance is 'auto' or 'denoise'.")
            get_method("denoise", self.method)
        if self.upscale is not None:
            object.__setattr__(self, "upscale", check_scale(self.upscale))
        if self.upscale_method is not None:
            get_method("sr", self.upscale_method)

    def steps(self, pixels: np.ndarray) -> list[Step]:
        """The pipeline steps for one photo's pixels (the noise level is estimated here)."""
        # the pipeline's own choices (the noise estimate, the best methods), overridden below where asked
        automatic = auto_recipe(pixels, upscale=self.upscale) if self.enhance == "auto" or self.upscale else []
        if self.enhance == "auto":
            steps = automatic
        else:
            steps = [step for step in automatic if step.task == "sr"]
            if self.enhance == "denoise":
                method = self.method or best_denoise_method(pixels.shape[2] if pixels.ndim == 3 else 1)
                steps.insert(0, Step("denoise", method, {"sigma": round(resolve_sigma(pixels, self.sigma), 2)}))
        return [_with_method(step, self.method, self.upscale_method) for step in steps]

    def describe(self) -> str:
        """A short human description, e.g. 'auto enhance, upscale x2'."""
        parts = []
        if self.enhance == "auto":
            parts.append("auto enhance" + (f" ({self.method})" if self.method else ""))
        elif self.enhance == "denoise":
            sigma = "auto" if self.sigma is None else f"{self.sigma:g}"
            parts.append(f"denoise ({self.method or 'best'}, sigma {sigma})")
        if self.upscale:
            parts.append(f"upscale x{self.upscale}" + (f" ({self.upscale_method})" if self.upscale_method else ""))
        return ", ".join(parts) or "no change"


def parse_recipe(recipe: str | Recipe) -> Recipe:
    """A Recipe from a batch recipe name such as 'auto', 'denoise' or 'auto+upscale2'.

    >>> parse_recipe("auto").enhance
    'auto'
    >>> parse_recipe("sharpen")
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: unknown recipe 'sharpen'; use 'auto', 'denoise', 'upscale2', 'upscale3', 'upscale4', or two joined with '+' (e.g. 'auto+upscale2').
    """
    if isinstance(recipe, Recipe):
        return recipe
    text = str(recipe).strip().lower()
    parts = [part.strip() for part in text.split("+")]
    if not text or any(part not in RECIPE_PARTS for part in parts):
        raise BrightroomError(f"unknown recipe '{recipe}'; use {RECIPE_HELP}.")
    enhancers = [part for part in parts if part in ("auto", "denoise")]
    scales = [int(part.removeprefix("upscale")) for part in parts if part.startswith("upscale")]
    if len(enhancers) > 1 or len(scales) > 1:
        raise BrightroomError(f"recipe '{recipe}' names two {'enhancements' if len(enhancers) > 1 else 'scales'}; use {RECIPE_HELP}.")
    return Recipe(enhance=enhancers[0] if enhancers else "off", upscale=scales[0] if scales else None)


def default_methods() -> dict[str, str]:
    """The method each task uses when none is named: the pipeline's choices for a colour photo.

    >>> sorted(default_methods())
    ['denoise', 'sr']
    """
    flat = np.full((8, 8, 3), 0.5, np.float32)  # clean, so auto_recipe names only its upscaler
    upscaler = auto_recipe(flat, upscale=2)[-1].method
    return {"denoise": best_denoise_method(3), "sr": upscaler}


def _with_method(step: Step, denoise_method: str | None, upscale_method: str | None) -> Step:
    if step.task == "denoise" and denoise_method:
        return replace(step, method=denoise_method)
    if step.task == "sr" and upscale_method:
        return replace(step, method=upscale_method)
    return step
