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

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .camera.noise import NoiseProfile, raw_noise_profile
from .errors import BrightroomError
from .io import Photo
from .io.raw import RawImage
from .metrics import estimate_noise_sigma
from .nn.zoo import find_model, upscale_kinds
from .resize import imresize
from .tasks import get_method
from .tasks.denoise import (
    MAX_SIGMA,
    REAL_METHOD,
    Strength,
    check_image,
    check_sigma,
    denoise,
    estimate_noise,
    is_auto,
    resolve_sigma,
)
from .tasks.super_resolve import SCALES, check_scale, upscale

# Below this estimated sigma (0-255 scale) an image is treated as clean (the AWGN estimator).
NOISE_THRESHOLD = 1.0
# Below these luminance and colour levels (0-255 scale) the real-photo model's own estimate
# counts as clean: its reading of clean photos stays under them (measured in its card).
CLEAN_LEVEL = 2.0
JPEG_QUALITY = 95  # results written as JPEG: high enough not to add visible loss to a restored photo
# enhance 'auto' removes JPEG artifacts from a photo saved at this quality or below (its tables', or
# its pixels' DCT lattice; never on the learned estimator's guess alone): above it the gain is small
# (about 0.5 dB at quality 80) beside re-encoding a phone's photo.
JPEG_AUTO_QUALITY = 75
JPEG_MODES = ("auto", "on", "off")
# A noisy photo goes to the real-photo model (trained on camera JPEGs of quality 50-95) without the
# JPEG step above this quality: first the JPEG model, then it, gained 0.1-0.35 dB at quality 30-50 and
# lost 0.1-0.2 dB at 75 (scripts/jpeg_and_noise.py, in the deblock model's card).
JPEG_WITH_NOISE_QUALITY = 60


@dataclass(frozen=True)
class Step:
    """One task in a recipe: ``task`` ('denoise' or 'sr'), its method and options."""

    task: str
    method: str
    options: dict = field(default_factory=dict)

    def describe(self) -> str:
        def shown(key: str, value) -> str:
            if hasattr(value, "describe"):
                return f"{key}: {value.describe()}"
            return f"{key}={value:.1f}" if isinstance(value, float) else f"{key}={value}"

        options = ", ".join(shown(k, v) for k, v in self.options.items() if v is not None)
        return f"{self.task} ({self.method}{', ' + options if options else ''})"


@dataclass(frozen=True)
class JPEGQuality:
    """The quality a JPEG step restores at, and where it came from ('given', 'from the file's
    tables', 'read from the pixels')."""

    value: int
    source: str

    def describe(self) -> str:
        return f"{self.value}, {self.source}"


def jpeg_quality_of(pixels: np.ndarray, file_quality: int | None = None, *, estimate: bool = True) -> JPEGQuality:
    """The quality a photo's artifacts show: a JPEG file's own tables (or an earlier, stronger save's
    lattice on another grid, where the pixels show one); else the pixels' DCT lattice (exact for a
    photo once saved as JPEG, or that earlier save's); else, with ``estimate``, the learned
    estimator where an 8 x 8 grid shows; else 100 (no compression found).

    >>> jpeg_quality_of(np.full((64, 64, 1), 0.5, np.float32), 40)
    JPEGQuality(value=40, source="from the file's tables")
    """
    from .tasks.jpeg import earlier_quality, read_jpeg_quality

    if file_quality is not None:
        earlier = earlier_quality(pixels, file_quality)
        if earlier is not None:  # a re-saved crop: the first, stronger save's artifacts are the ones to remove
            return JPEGQuality(earlier, f"an earlier save on another grid; the file's tables say {file_quality}")
        return JPEGQuality(int(file_quality), "from the file's tables")
    quality, how = read_jpeg_quality(pixels)
    if how == "estimator" and not estimate:
        return JPEGQuality(100, "no quantisation lattice in the pixels")
    source = {"lattice": "read from the pixels' DCT", "estimator": "estimated from the pixels",
              "none": "no compression in the pixels"}[how]
    return JPEGQuality(int(round(quality)), source)


def best_denoise_method(channels: int = 3, *, blind: bool = False) -> str:
    """The learned denoiser where its weights are shipped, else BM3D; ``blind`` asks for the
    real-photo model (which estimates the noise itself) where it is shipped.

    >>> best_denoise_method() in ("brightroom", "bm3d")
    True
    """
    if blind and find_model("denoise", REAL_METHOD).shipped:
        return REAL_METHOD
    return "brightroom" if find_model("denoise", "brightroom", channels).shipped else "bm3d"


def best_upscale_method(model: str = "real") -> str:
    """The learned upscaler of the given kind ('classic' or 'real') where shipped, else bicubic.

    >>> best_upscale_method("classic") in ("brightroom", "bicubic")
    True
    """
    kinds = upscale_kinds()
    if model not in kinds:
        raise BrightroomError(f"--model must be {' or '.join(kinds)}, not '{model}'.")
    return kinds[model].method if kinds[model].shipped else "bicubic"


def denoise_step(pixels: np.ndarray, strength: Strength | None = None, method: str | None = None) -> Step | None:
    """The automatic denoising step for these pixels, or None when they are clean: ``method``
    (default: the real-photo model where it is shipped, else the AWGN model) with the noise
    estimated here, once: a blind model's own estimate, else the white-noise sigma."""
    method = method or best_denoise_method(pixels.shape[2], blind=True)
    if get_method("denoise", method).blind:
        noise = estimate_noise(pixels, method)
        if max(noise.luma, noise.color) < CLEAN_LEVEL:
            return None
        return Step("denoise", method, {"noise": noise, "strength": strength})
    sigma = estimate_noise_sigma(pixels)
    return Step("denoise", method, {"sigma": round(sigma, 2)}) if sigma >= NOISE_THRESHOLD else None


def burst_denoiser(channels: int = 3) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """The single-image denoiser a burst merge hands its result to, with the noise left per pixel
    (0-255 scale): the learned AWGN model where shipped, else None (the merge's own shrinkage).

    >>> burst_denoiser() is None or callable(burst_denoiser())
    True
    """
    method = best_denoise_method(channels)
    if method != "brightroom":
        return None
    return lambda image, sigma: denoise(image, np.minimum(sigma, MAX_SIGMA), method=method)


def raw_burst_denoiser(denoise: str | float | None = "auto") -> Callable[[RawImage, NoiseProfile], RawImage] | None:
    """The RAW denoiser a RAW burst hands its merged mosaic to, with the merged data's reduced noise
    profile (see ``camera.merge.merge_raw_frames``), or None when turned off or not shipped ('auto' only).

    >>> raw_burst_denoiser("off") is None
    True
    """
    from .tasks.denoise_raw import denoise_raw

    strength, _ = raw_denoise_strength(denoise)
    return (lambda raw, profile: denoise_raw(raw, strength=strength, profile=profile)) if strength else None


def raw_denoise_strength(denoise: str | float | None) -> tuple[float, str]:
    """The RAW denoising strength asked for ('auto', 'off' or a number), and when it is 0 why:
    'off', or that the RAW model is not shipped ('auto' then develops without it; a number asked
    for it and is an error).

    >>> raw_denoise_strength("off")
    (0.0, 'off')
    """
    from .tasks.denoise_raw import RAW_METHOD, parse_raw_denoise

    strength = parse_raw_denoise(denoise)
    if strength == 0:
        return 0.0, "off"
    if not find_model("raw", RAW_METHOD, 4).shipped:
        if is_auto(denoise):
            return 0.0, "the RAW model is not shipped in this installation"
        raise BrightroomError("RAW denoising needs the model 'denoise-raw', which is not shipped in this installation.")
    return strength, ""


def auto_recipe(pixels: np.ndarray, *, upscale: int | None = None, strength: Strength | None = None,
                jpeg_quality: int | None = None) -> list[Step]:
    """Remove JPEG artifacts if the image shows them, denoise with the best method if it is noisy,
    then upscale if asked (with the real-photo model where it is shipped, since a noisy photo's
    degradations are not bicubic): the steps of ``Recipe('auto')``. ``jpeg_quality`` is the file's
    own (its tables), where it is a JPEG."""
    return Recipe("auto", upscale=upscale, strength=strength).steps(pixels, jpeg_quality=jpeg_quality)


def run_recipe(photo: Photo, steps: list[Step], progress: Callable[[str], None] | None = None) -> Photo:
    """Apply the steps in order; alpha follows upscaling, metadata is kept."""
    pixels, alpha = photo.pixels, photo.alpha
    for step in steps:
        get_method(step.task, step.method)  # fail early on an unknown method
        if progress:
            progress(step.describe())
        if step.task == "jpeg":
            from .tasks.jpeg import deblock

            quality = step.options["quality"]
            pixels = deblock(pixels, quality=quality.value, strength=step.options.get("strength") or 1.0,
                             method=step.method)
        elif step.task == "denoise":
            noise = step.options.get("noise")
            sigma = np.minimum(noise.levels * 255, MAX_SIGMA) if noise is not None else step.options.get("sigma")
            pixels = denoise(pixels, sigma=sigma, method=step.method, strength=step.options.get("strength"))
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
    return run_recipe(photo, auto_recipe(photo.pixels, upscale=upscale, jpeg_quality=photo.jpeg_quality), progress)


ENHANCE_MODES = ("auto", "denoise", "off")
RECIPE_PARTS = ("auto", "denoise", "deblock", "develop", *(f"upscale{scale}" for scale in SCALES))
RECIPE_HELP = ("'auto', 'denoise', 'deblock' (JPEG artifacts removed), 'develop' (RAW files developed, nothing else), "
               "'upscale2', 'upscale3', 'upscale4', or two joined with '+' (e.g. 'auto+upscale2')")


@dataclass(frozen=True)
class Recipe:
    """What to do to a photo.

    ``enhance`` is 'auto' (denoise with the best method when the photo is noisy,
    leave a clean photo alone), 'denoise' (always denoise; ``sigma`` on the
    0-255 scale, None to estimate it) or 'off'. ``method`` picks the denoising
    method (default: the best shipped one). ``upscale`` is None, 2, 3 or 4, with
    ``upscale_method`` (default: the pipeline's choice, as in ``auto_recipe``).
    ``strength`` (a :class:`~brightroom.tasks.denoise.Strength`) tunes the blind real-photo
    model. ``raw_denoise`` ('auto', 'off' or a strength from 0 to 4) is the RAW denoising of a RAW
    file, on its Bayer data before development (see :func:`read_raw_photo`). ``jpeg`` is the JPEG
    artifact removal: 'auto' (with enhance 'auto' or 'denoise': when the photo shows artifacts, at
    quality :data:`JPEG_AUTO_QUALITY` or below by its tables or its pixels' DCT lattice), 'on' (at
    the quality the file's tables or its pixels say, the learned estimator's reading included), 'off', or a quality from 1 to 100 (always, at that quality); ``jpeg_strength``
    (0 to 4) scales it. Every option is checked on construction; a bad one is a BrightroomError.

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
    strength: Strength | None = None
    raw_denoise: str | float = "auto"
    jpeg: str | int = "auto"
    jpeg_strength: float = 1.0

    def __post_init__(self) -> None:
        from .tasks.denoise import check_strength
        from .tasks.denoise_raw import parse_raw_denoise
        from .tasks.jpeg import parse_jpeg_quality

        parse_raw_denoise(self.raw_denoise)
        jpeg = str(self.jpeg).strip().lower()
        object.__setattr__(self, "jpeg", jpeg if jpeg in JPEG_MODES else parse_jpeg_quality(self.jpeg))
        object.__setattr__(self, "jpeg_strength", check_strength("the JPEG strength", self.jpeg_strength))
        if self.jpeg not in ("auto", "off") and not find_model("jpeg", "brightroom").shipped:
            raise BrightroomError("JPEG artifact removal needs the model 'deblock', which is not shipped in this "
                                  "installation.")
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
        if self.strength is not None:
            if self.enhance == "off":
                raise BrightroomError("a denoising strength applies only when enhance is 'auto' or 'denoise'.")
            if not get_method("denoise", self._denoise_method(3)).blind:
                raise BrightroomError(f"strength applies to the blind method '{REAL_METHOD}', "
                                      f"not '{self._denoise_method(3)}'.")
        if self.upscale is not None:
            object.__setattr__(self, "upscale", check_scale(self.upscale))
        if self.upscale_method is not None:
            get_method("sr", self.upscale_method)

    def _denoise_method(self, channels: int) -> str:
        # a given sigma goes to the AWGN model; 'auto' to the real-photo model where it is shipped
        return self.method or best_denoise_method(channels, blind=self.sigma is None)

    def steps(self, pixels: np.ndarray, *, jpeg_quality: int | None = None, raw: bool = False) -> list[Step]:
        """The pipeline steps for one photo's pixels; the noise and the JPEG quality are estimated
        here, once, and only when a step needs them. ``jpeg_quality`` is the file's own (a JPEG's
        tables); a developed ``raw`` file has no JPEG step.

        >>> Recipe("off", jpeg=30).steps(np.full((32, 32, 3), 0.5, np.float32))[0].describe()
        'jpeg (brightroom, quality: 30, given)'
        """
        pixels = check_image(pixels)
        steps = [step] if not raw and (step := self._jpeg_step(pixels, jpeg_quality)) else []
        method = self._denoise_method(pixels.shape[2])
        blind = get_method("denoise", method).blind
        if self.enhance == "auto":
            steps += [step] if (step := denoise_step(pixels, self.strength, method)) else []
        elif self.enhance == "denoise":
            if blind and self.sigma is None:
                options = {"noise": estimate_noise(pixels, method), "strength": self.strength}
            elif blind:
                options = {"sigma": self.sigma, "strength": self.strength}
            else:
                options = {"sigma": round(resolve_sigma(pixels, self.sigma), 2)}
            steps.append(Step("denoise", method, options))
        if self.jpeg == "auto" and len(steps) > 1 and steps[0].task == "jpeg" and steps[1].task == "denoise" \
                and get_method("denoise", steps[1].method).blind \
                and steps[0].options["quality"].value > JPEG_WITH_NOISE_QUALITY:
            steps = steps[1:]  # the real-photo model alone does better on a noisy, lightly compressed photo
        if self.upscale:
            steps.append(Step("sr", self.upscale_method or best_upscale_method("real"), {"scale": self.upscale}))
        return steps

    def _jpeg_step(self, pixels: np.ndarray, file_quality: int | None) -> Step | None:
        if self.jpeg == "off" or self.jpeg == "auto" and self.enhance == "off":
            return None
        if self.jpeg == "auto" and not find_model("jpeg", "brightroom").shipped:
            return None
        if isinstance(self.jpeg, int):
            quality = JPEGQuality(self.jpeg, "given")
        else:
            from .tasks.jpeg import CLEAN_QUALITY

            quality = jpeg_quality_of(pixels, file_quality, estimate=self.jpeg == "on")
            if quality.value > (JPEG_AUTO_QUALITY if self.jpeg == "auto" else CLEAN_QUALITY):
                return None  # no artifacts to remove: the photo is left as it is
        strength = self.jpeg_strength if self.jpeg_strength != 1 else None
        return Step("jpeg", "brightroom", {"quality": quality, "strength": strength})

    def describe(self) -> str:
        """A short human description, e.g. 'auto enhance, upscale x2'."""
        parts = []
        if self.jpeg not in ("auto", "off"):
            parts.append("JPEG artifacts removed" + (f" (quality {self.jpeg})" if isinstance(self.jpeg, int) else ""))
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
    brightroom.errors.BrightroomError: unknown recipe 'sharpen'; use 'auto', 'denoise', 'deblock' (JPEG artifacts removed), 'develop' (RAW files developed, nothing else), 'upscale2', 'upscale3', 'upscale4', or two joined with '+' (e.g. 'auto+upscale2').
    """
    if isinstance(recipe, Recipe):
        return recipe
    text = str(recipe).strip().lower()
    parts = [part.strip() for part in text.split("+")]
    if not text or any(part not in RECIPE_PARTS for part in parts):
        raise BrightroomError(f"unknown recipe '{recipe}'; use {RECIPE_HELP}.")
    if parts == ["develop"]:  # every photo is read the one way (RAW developed by Brightroom), then written
        return Recipe("off")
    enhancers = [part for part in parts if part in ("auto", "denoise")]
    scales = [int(part.removeprefix("upscale")) for part in parts if part.startswith("upscale")]
    if len(enhancers) > 1 or len(scales) > 1:
        raise BrightroomError(f"recipe '{recipe}' names two {'enhancements' if len(enhancers) > 1 else 'scales'}; use {RECIPE_HELP}.")
    deblock = "on" if "deblock" in parts else "auto"
    return Recipe(enhance=enhancers[0] if enhancers else "off", upscale=scales[0] if scales else None, jpeg=deblock)


def default_methods() -> dict[str, str]:
    """The method each task uses when none is named: the pipeline's choices for a colour photo
    (None for JPEG artifact removal where its model is not shipped).

    >>> sorted(default_methods())
    ['denoise', 'jpeg', 'sr']
    """
    jpeg = "brightroom" if find_model("jpeg", "brightroom").shipped else None
    return {"denoise": best_denoise_method(3, blind=True), "sr": best_upscale_method("real"), "jpeg": jpeg}


# -- one photo, file to file -----------------------------------------------------------------------

def output_name(source: str | Path, tag: str, *, folder: str | Path | None = None, suffix: str | None = None) -> Path:
    """Where a result of ``source`` goes by default: ``photo.jpg`` -> ``photo-TAG.jpg`` beside it
    (or in ``folder``; an empty ``tag`` keeps the name); RAW files become 16-bit TIFF.

    >>> str(output_name("shots/photo.jpg", "enhanced")), str(output_name("a/IMG_1.CR2", "", folder="out"))
    ('shots/photo-enhanced.jpg', 'out/IMG_1.tif')
    """
    from .io.formats import default_output_suffix

    source = Path(source)
    name = f"{source.stem}-{tag}" if tag else source.stem
    return Path(folder if folder is not None else source.parent) / f"{name}{suffix or default_output_suffix(source)}"


@dataclass
class PhotoResult:
    """What :func:`process_photo` did: the steps run (empty: the photo was left as it was),
    the result written (``output``) and a sentence for people (``message``)."""

    source: Path
    output: Path
    steps: list[Step]
    photo: Photo
    result: Photo
    message: str


# -- RAW files: the one path from a RAW file to pixels ----------------------------------------------

@dataclass
class RawPhoto:
    """A RAW file read and, where asked, denoised on its Bayer data: the :class:`RawImage` (on the
    file's own scale either way), the noise profile used (None when not denoised) and a sentence
    for people saying what was done."""

    raw: RawImage
    profile: NoiseProfile | None
    message: str


def read_raw_photo(source: str | Path, *, denoise: str | float | None = "auto", profile: NoiseProfile | None = None,
                   max_pixels: int | None = None) -> RawPhoto:
    """Read a RAW file and denoise its Bayer mosaic before any demosaicking (``denoise`` 'auto' or
    a strength: the learned RAW model with the noise profile measured from the file, or the one
    given; 'off' or 0: as recorded). Data that is not a Bayer mosaic is left for the sRGB denoiser
    after development (:func:`develop_photo`).

    >>> import tempfile, pathlib
    >>> from brightroom.io import write_dng
    >>> dng = write_dng(pathlib.Path(tempfile.mkdtemp()) / "a.dng", np.full((32, 32), 9000, np.uint16))
    >>> read_raw_photo(dng, denoise="off").message
    'not denoised (off)'
    """
    from .io.raw import read_raw
    from .tasks.denoise_raw import RAW_METHOD, denoise_raw

    strength, reason = raw_denoise_strength(denoise)
    raw = read_raw(source, max_pixels=max_pixels)
    if strength == 0:
        return RawPhoto(raw, None, f"not denoised ({reason})")
    if not raw.is_bayer:
        return RawPhoto(raw, None, "not denoised as RAW (the data is not a Bayer mosaic)")
    if profile is None:
        try:
            profile = raw_noise_profile(raw)
        except BrightroomError as error:  # a tiny or all-white image: developed as recorded
            return RawPhoto(raw, None, f"not denoised ({error})")
    denoised = denoise_raw(raw, strength=strength, profile=profile)
    return RawPhoto(denoised, profile, f"RAW denoised before demosaicking ({RAW_METHOD}, strength {strength:g}; "
                                       f"noise {profile.describe()})")


class Development(NamedTuple):
    """A RAW file developed: sRGB pixels, what was done (a sentence), and whether its noise was
    removed on the way (on the Bayer data, or after development for demosaicked data)."""

    pixels: np.ndarray
    message: str
    denoised: bool


def develop_photo(source: str | Path, *, denoise: str | float | None = "auto", profile: NoiseProfile | None = None,
                  max_pixels: int | None = None, **options) -> Development:
    """Develop a RAW file the one way every entry point does: read, RAW denoising (see
    :func:`read_raw_photo`), Brightroom's development (``camera.develop``; ``options`` are its
    ``demosaic_method``, ``white_balance``, ``exposure``, ``tone_curve_strength``, ``local_tone``,
    ``highlights``). Demosaicked RAW data (linear DNG, X-Trans) is denoised after development by
    the blind real-photo model instead.

    >>> import tempfile, pathlib
    >>> from brightroom.io import write_dng
    >>> dng = write_dng(pathlib.Path(tempfile.mkdtemp()) / "a.dng", np.full((32, 32), 9000, np.uint16))
    >>> developed = develop_photo(dng, denoise="off", demosaic_method="bilinear")
    >>> developed.pixels.shape, developed.message, developed.denoised
    ((32, 32, 3), 'developed; not denoised (off)', False)
    """
    from .camera.raw import check_develop_options, develop
    from .tasks.denoise import denoise as denoise_image  # the parameter 'denoise' is the user's setting
    from .tasks.denoise_raw import parse_raw_denoise

    check_develop_options(**options)  # every option checked before the file is read
    strength = parse_raw_denoise(denoise)
    taken = read_raw_photo(source, denoise=denoise, profile=profile, max_pixels=max_pixels)
    pixels = develop(taken.raw, **options)
    if strength and not taken.raw.is_bayer and find_model("denoise", REAL_METHOD).shipped:
        pixels = denoise_image(pixels, None, method=REAL_METHOD, strength=Strength(strength))
        return Development(pixels, f"developed; denoised after development ({REAL_METHOD}: the data is not a "
                                   "Bayer mosaic)", True)
    return Development(pixels, f"developed; {taken.message}", taken.profile is not None)


def read_photo(source: str | Path, *, max_pixels: int | None = None, raw_denoise: str | float = "auto") -> Photo:
    """Read a photo for processing: ``read_image``, except that a RAW file is developed by
    Brightroom's own pipeline (:func:`develop_photo`, RAW denoising included) with its default
    settings, carrying the file's EXIF and an sRGB profile: one RAW path for every entry point
    (``develop`` gives the same pixels).

    >>> import tempfile, pathlib
    >>> from brightroom.io import write_dng
    >>> dng = write_dng(pathlib.Path(tempfile.mkdtemp()) / "a.dng", np.full((32, 32), 9000, np.uint16))
    >>> read_photo(dng)
    Photo(32x32 RGB, 16-bit raw, exif, icc_profile, path='...a.dng')
    """
    return _read_developed(source, max_pixels, raw_denoise)[0]


def _read_developed(source: str | Path, max_pixels: int | None,
                    raw_denoise: str | float) -> tuple[Photo, Development | None]:
    """The photo, and for a RAW file its development."""
    from .io import probe_image, read_image, read_metadata
    from .io.metadata import srgb_profile

    if probe_image(source, max_pixels=max_pixels).format != "raw":
        return read_image(source, max_pixels=max_pixels), None
    developed = develop_photo(source, denoise=raw_denoise, max_pixels=max_pixels)
    return Photo(developed.pixels, None, 16, "raw", read_metadata(source)[0], srgb_profile(), Path(source)), developed


def process_photo(source: str | Path, output: str | Path, recipe: Recipe, *, overwrite: bool = False,
                  max_pixels: int | None = None, on_read: Callable[[Photo], None] | None = None,
                  progress: Callable[[str], None] | None = None) -> PhotoResult:
    """The per-photo path every entry point takes (CLI, batch, server, demo): read, choose the
    steps (the noise estimated once, only when a step needs it), run them, write the result with
    its metadata and its (resized) alpha. The output is checked before any work; the input is
    never overwritten. When the recipe finds nothing to do and the output has the input's
    format, the file is copied as it was rather than re-encoded.

    >>> import tempfile, pathlib
    >>> from brightroom.io import write_image
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> source = write_image(folder / "flat.png", np.full((16, 16, 3), 0.5, np.float32))
    >>> process_photo(source, folder / "big.png", Recipe("off", upscale=2)).result.pixels.shape
    (32, 32, 3)
    """
    from .io import write_image
    from .io.files import atomic_write
    from .io.formats import output_format

    source, output = Path(source), Path(output)
    check_target(output, [source], overwrite=overwrite)
    photo, development = _read_developed(source, max_pixels, recipe.raw_denoise)
    if on_read:
        on_read(photo)
    if development and progress:
        progress(development.message)
    if development and development.denoised and recipe.enhance == "auto":
        # the sensor's own noise was removed before demosaicking: 'auto' adds no sRGB denoising
        steps = Recipe("off", upscale=recipe.upscale, upscale_method=recipe.upscale_method).steps(photo.pixels)
    else:
        steps = recipe.steps(photo.pixels, jpeg_quality=photo.jpeg_quality, raw=development is not None)
    same_format = output_format(output).name == photo.format
    nothing = "already clean: nothing to do" if recipe.enhance != "off" else "nothing to do"
    if not steps and same_format:
        atomic_write(output, source.read_bytes())
        return PhotoResult(source, output, steps, photo, photo, f"{nothing}; copied unchanged.")
    result = run_recipe(photo, steps, progress)
    write_image(output, result.pixels, alpha=result.alpha, like=photo, overwrite=overwrite, quality=JPEG_QUALITY)
    done = "; ".join(step.describe() for step in steps) or f"{nothing}; converted to {output_format(output).label}"
    if development:
        done = f"{development.message}; " + ("; ".join(step.describe() for step in steps) or
                                             f"written as {output_format(output).label}")
    if output_format(output).name == "jpeg":
        done += f"; written as JPEG at quality {JPEG_QUALITY}"
    elif output_format(output).name == "heif" and photo.bit_depth > 8:
        done += f"; written as 12-bit HEIC (the most HEIC holds, from {photo.bit_depth}-bit)"
    return PhotoResult(source, output, steps, photo, result, done + ".")


# Peak memory per pixel of the per-photo path, measured with `bench --megapixels` on this project's
# machine and rounded up: reading and writing (float32 copies, the encoder), the denoisers (12 and
# 24 MP: about 100 bytes per pixel), a RAW development with RAW denoising, and per output pixel of
# an upscaler.
READ_BYTES_PER_PIXEL = 48
DENOISE_BYTES_PER_PIXEL = 110
RAW_BYTES_PER_PIXEL = 120
UPSCALE_BYTES_PER_OUTPUT_PIXEL = 64


def estimated_peak_bytes(width: int, height: int, recipe: Recipe, *, raw: bool = False) -> int:
    """The peak memory one photo of this size takes through ``process_photo`` with ``recipe``, from
    its header alone: what the server's admission reserves before decoding.

    >>> round(estimated_peak_bytes(4000, 3000, Recipe("auto")) / 1e9, 2)
    1.32
    """
    pixels = int(width) * int(height)
    need = pixels * (RAW_BYTES_PER_PIXEL if raw else READ_BYTES_PER_PIXEL)
    if recipe.enhance != "off" or recipe.jpeg not in ("auto", "off"):
        need = max(need, pixels * DENOISE_BYTES_PER_PIXEL)
    if recipe.upscale:
        need = max(need, pixels * recipe.upscale**2 * UPSCALE_BYTES_PER_OUTPUT_PIXEL)
    return int(need)


def check_target(output: Path, sources: list[Path], *, overwrite: bool, dng: bool = False) -> None:
    """Refuse an output before any work rather than after minutes of processing: a format
    Brightroom writes (a DNG where ``dng``: RAW data out), not one of the inputs, not an existing
    file unless ``overwrite``.

    >>> check_target(Path("out.txt"), [], overwrite=False)
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: cannot write 'out.txt': unknown output format ('.txt'); use one of .png, .jpg, .jpeg, .jpe, .jfif, .tif, .tiff, .webp, .heic, .heif, .hif.
    """
    from .io.files import check_output_path
    from .io.formats import output_format

    if not dng:
        output_format(output)
    elif output.suffix.lower() != ".dng":
        raise BrightroomError(f"cannot write '{output}': RAW data is written as DNG; name the output '*.dng'.")
    for source in sources:
        if output.exists() and source.exists() and output.resolve() == source.resolve():
            raise BrightroomError(f"'{output}' is the input; Brightroom never overwrites an original.")
    check_output_path(output, overwrite=overwrite)
