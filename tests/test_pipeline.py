import numpy as np

from brightroom.degrade import add_gaussian_noise
from brightroom.io import Photo
from brightroom.metrics import psnr
from brightroom.pipeline import Step, auto_recipe, best_denoise_method, enhance, run_recipe
from conftest import smooth_image


def _photo(pixels, alpha=None):
    return Photo(pixels, alpha, 8, "png", b"Exif\0\0fake", None)


def test_auto_recipe_denoises_only_noisy_images_with_the_estimated_sigma():
    clean = smooth_image(64, 64, 3)
    assert auto_recipe(clean) == []
    steps = auto_recipe(add_gaussian_noise(clean, 20, seed=1), upscale=2)
    assert [s.task for s in steps] == ["denoise", "sr"]
    assert steps[0].method == best_denoise_method(3)
    assert abs(steps[0].options["sigma"] - 20) < 1.5
    assert steps[1].options == {"scale": 2}


def test_run_recipe_carries_alpha_and_metadata_through_upscaling():
    alpha = np.zeros((16, 16), np.float32)
    alpha[:, 8:] = 1
    result = run_recipe(_photo(smooth_image(16, 16, 3), alpha), [Step("sr", "bicubic", {"scale": 2})])
    assert result.pixels.shape == (32, 32, 3) and result.alpha.shape == (32, 32)
    assert result.alpha[:, :14].max() < 0.05 and result.alpha[:, 18:].min() > 0.95
    assert result.exif == b"Exif\0\0fake"


def test_run_recipe_denoise_step_improves_psnr_and_keeps_alpha():
    clean = smooth_image(48, 48, 1)
    alpha = np.full((48, 48), 0.5, np.float32)
    noisy = _photo(add_gaussian_noise(clean, 25, seed=2), alpha)
    result = run_recipe(noisy, [Step("denoise", "nlm", {"sigma": 25})])
    assert psnr(result.pixels, clean) > psnr(noisy.pixels, clean) + 3
    np.testing.assert_array_equal(result.alpha, alpha)


def test_enhance_reports_its_steps():
    seen = []
    enhance(_photo(add_gaussian_noise(smooth_image(32, 32, 3), 10, seed=0)), progress=seen.append)
    assert len(seen) == 1 and seen[0].startswith("denoise (")
