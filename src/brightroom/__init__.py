"""Brightroom: an open AI imaging engine for the photos people actually take.

The public API, which the command line and the web service call:

>>> import numpy as np, brightroom
>>> noisy = brightroom.add_gaussian_noise(np.full((64, 64, 3), 0.5, np.float32), 20, seed=0)
>>> abs(brightroom.estimate_noise_sigma(noisy) - 20) < 1
True
"""

from .degrade import add_gaussian_noise, add_poisson_gaussian_noise
from .errors import BrightroomError
from .io import Photo, probe_image, read_image, write_image
from .metrics import estimate_noise_sigma, psnr, ssim
from .pipeline import Recipe, auto_recipe, enhance, process_photo, run_recipe
from .tasks import methods, task_names
from .tasks.denoise import Strength, denoise, estimate_noise
from .tasks.jpeg import deblock, estimate_jpeg_quality
from .tasks.super_resolve import upscale

__version__ = "0.1.0"

__all__ = [
    "BrightroomError",
    "Photo",
    "Recipe",
    "Strength",
    "add_gaussian_noise",
    "add_poisson_gaussian_noise",
    "auto_recipe",
    "deblock",
    "denoise",
    "enhance",
    "estimate_jpeg_quality",
    "estimate_noise",
    "estimate_noise_sigma",
    "methods",
    "probe_image",
    "process_photo",
    "psnr",
    "read_image",
    "run_recipe",
    "ssim",
    "task_names",
    "upscale",
    "write_image",
]
