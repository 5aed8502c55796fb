import numpy as np
import pytest

from brightroom.degrade import add_gaussian_noise
from brightroom.io import Photo
from brightroom.metrics import estimate_noise_sigma, psnr
from brightroom.pipeline import Step, auto_recipe, best_denoise_method, enhance, run_recipe
from brightroom.tasks.denoise import denoise, estimate_noise
from conftest import smooth_image


def _photo(pixels, alpha=None):
    return Photo(pixels, alpha, 8, "png", b"Exif\0\0fake", None)


def _ramp() -> np.ndarray:
    """A clean colour gradient: clean to any estimator (a random smooth field is not: to the real-photo
    model's estimator its texture reads as noise)."""
    y, x = np.mgrid[0:64, 0:64] / 64
    return np.stack([0.2 + 0.5 * x, 0.3 + 0.4 * y, 0.5 - 0.2 * x], axis=2).astype(np.float32)


def test_auto_recipe_denoises_only_noisy_images_with_the_estimated_noise():
    clean = _ramp()
    assert auto_recipe(clean) == []
    steps = auto_recipe(add_gaussian_noise(clean, 20, seed=1), upscale=2)
    assert [s.task for s in steps] == ["denoise", "sr"]
    assert steps[0].method == best_denoise_method(3, blind=True)
    if "noise" in steps[0].options:  # the real-photo model's own estimate, luminance and colour
        assert steps[0].options["noise"].luma == pytest.approx(20, rel=0.3)
    else:
        assert abs(steps[0].options["sigma"] - 20) < 1.5
    assert steps[1].options == {"scale": 2}


def test_a_two_level_image_is_not_denoised():
    # a dithered 1-bit image: to the estimators its dots are noise of sigma 90-110
    dots = (np.random.default_rng(0).random((64, 64, 1)) < np.linspace(0, 1, 64)[None, :, None]).astype(np.float32)
    assert auto_recipe(dots) == [] and auto_recipe(np.repeat(dots, 3, axis=2)) == []
    assert estimate_noise_sigma(dots) == 0 and estimate_noise(np.repeat(dots, 3, axis=2)).luma == 0
    np.testing.assert_array_equal(denoise(dots, method=best_denoise_method(1, blind=True)), dots)
    assert auto_recipe(np.clip(dots, 1 / 255, 1)) != []  # one level above black: an ordinary photo


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


def test_process_photo_writes_the_pipelines_alpha(tmp_path):
    from brightroom.io import read_image, write_image
    from brightroom.pipeline import Recipe, process_photo
    from brightroom.resize import imresize

    alpha = np.zeros((16, 16), np.float32)
    alpha[:, 5:] = 1
    source = write_image(tmp_path / "in.png", smooth_image(16, 16, 3), alpha=alpha)
    done = process_photo(source, tmp_path / "out.png", Recipe("off", upscale=2))
    written = read_image(done.output).alpha
    assert np.abs(written - np.clip(imresize(alpha, 2), 0, 1)).max() <= 1 / 255
    assert np.abs(written - done.result.alpha).max() <= 1 / 255


def test_the_noise_is_estimated_once_and_only_when_a_step_needs_it(monkeypatch):
    import brightroom.pipeline as pipeline

    calls = []
    for name in ("estimate_noise", "estimate_noise_sigma"):
        original = getattr(pipeline, name)
        monkeypatch.setattr(pipeline, name, lambda *a, _f=original, **k: calls.append(1) or _f(*a, **k))
    noisy = add_gaussian_noise(smooth_image(64, 64, 3), 20, seed=3)
    pipeline.Recipe("off", upscale=2).steps(noisy)
    assert calls == []
    pipeline.Recipe("auto", upscale=2).steps(noisy)
    assert len(calls) == 1
    calls.clear()
    pipeline.Recipe("denoise", sigma=10, upscale=2).steps(noisy)
    assert calls == []


def test_a_clean_photo_is_copied_as_it_was(tmp_path):
    from brightroom.io import write_image
    from brightroom.pipeline import Recipe, process_photo

    source = write_image(tmp_path / "clean.jpg", np.full((32, 32, 3), 0.4, np.float32), quality=80)
    done = process_photo(source, tmp_path / "out.jpg", Recipe("auto"))
    assert done.steps == [] and "already clean" in done.message
    assert (tmp_path / "out.jpg").read_bytes() == source.read_bytes()


def test_a_16_bit_photo_written_as_heic_says_it_became_12_bit(tmp_path):
    from brightroom.io import write_image
    from brightroom.pipeline import Recipe, process_photo

    ramp = np.repeat(np.linspace(0, 1, 64, dtype=np.float32)[None, :, None], 32, axis=0).repeat(3, axis=2)
    source = write_image(tmp_path / "deep.png", ramp, bit_depth=16)
    result = process_photo(source, tmp_path / "deep.heic", Recipe("off"))
    assert "12-bit HEIC" in result.message and "16-bit" in result.message
    assert "HEIC" not in process_photo(source, tmp_path / "deep.tif", Recipe("off")).message
