"""JPEG artifact removal: the degradation the model trains on, the model itself (told the quality or
reading it from the pixels), the pipeline's JPEG step, the command, the service, bad options."""

import io

import numpy as np
import pytest
from PIL import Image

from brightroom.cli import main
from brightroom.color import jpeg_ycbcr_to_rgb, rgb_to_jpeg_ycbcr
from brightroom.degrade import jpeg_compress, jpeg_recompress
from brightroom.errors import BrightroomError
from brightroom.io import read_image, write_image
from brightroom.metrics import psnr
from brightroom.nn.zoo import get_model
from brightroom.pipeline import JPEG_AUTO_QUALITY, Recipe, jpeg_quality_of, parse_recipe
from brightroom.tasks.jpeg import deblock, estimate_jpeg_quality, parse_jpeg_quality
from brightroom.train.jpeg import compressed, half, jpeg_example
from conftest import shared_set, smooth_image, train_two_steps

needs_model = pytest.mark.skipif(not get_model("deblock").shipped, reason="deblock weights not shipped")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()[100:292, 140:396].astype(np.float32) / 255.0  # 192 x 256


# ---------------------------------------------------------------- conventions and the degradation


def test_the_jpeg_ycbcr_is_the_one_libjpeg_codes():
    rgb = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    pillow = np.asarray(Image.fromarray(rgb).convert("YCbCr"), np.float32)
    ours = rgb_to_jpeg_ycbcr(rgb.astype(np.float32) / 255) * 255
    assert np.abs(ours - pillow).max() <= 1.0
    assert np.allclose(jpeg_ycbcr_to_rgb(rgb_to_jpeg_ycbcr(rgb / 255)), rgb / 255, atol=1e-5)


def test_a_re_saved_crop_is_worse_than_either_save_alone(photo):
    twice = jpeg_recompress(photo, 30, 70, (4, 4))
    reference = photo[4:, 4:]
    assert twice.shape == reference.shape
    once_70 = jpeg_compress(reference, 70)
    assert psnr(twice, reference) < psnr(once_70, reference) - 1.0


def test_training_examples_carry_the_level_of_their_quality(photo):
    rng = np.random.default_rng(0)
    for _ in range(20):
        noisy, clean, level = compressed(photo[..., :1], rng)
        assert noisy.shape == clean.shape and 0.05 <= level <= 0.95
        # stronger compression (a higher level) loses more: checked against the error of that quality
        quality = round(100 - 100 * level)
        assert psnr(noisy, clean) <= psnr(jpeg_compress(clean, min(quality + 10, 100)), clean) + 0.5
    gray = [np.round(photo[..., :1] * 255).astype(np.uint8)]
    color = [np.round(photo * 255).astype(np.uint8)]
    kinds = {jpeg_example(gray, color, 32, rng)[3] for _ in range(30)}
    assert kinds == {0.0, 1.0}  # luminance and colour-plane examples


def test_half_is_the_2x2_mean():
    plane = np.arange(36, dtype=np.float32).reshape(6, 6, 1)
    assert half(plane)[0, 0, 0] == pytest.approx((0 + 1 + 6 + 7) / 4)


def test_a_jpegs_quality_is_read_from_its_tables(tmp_path, photo):
    pixels = np.round(photo * 255).astype(np.uint8)
    for quality in (7, 35, 75, 95):
        Image.fromarray(pixels).save(tmp_path / f"q{quality}.jpg", quality=quality)
        assert read_image(tmp_path / f"q{quality}.jpg").jpeg_quality == quality
    Image.fromarray(pixels[..., 0]).save(tmp_path / "gray.jpg", quality=20)
    assert read_image(tmp_path / "gray.jpg").jpeg_quality == 20
    assert read_image(write_image(tmp_path / "a.png", photo)).jpeg_quality is None


# ---------------------------------------------------------------- options


@pytest.mark.parametrize("bad", ["0", "101", "7.5", "high", True])
def test_bad_qualities_are_one_sentence(bad):
    with pytest.raises(BrightroomError, match="a JPEG quality must be auto or a whole number from 1 to 100"):
        parse_jpeg_quality(bad)


def test_bad_strengths_and_modes_are_refused():
    with pytest.raises(BrightroomError, match="the JPEG strength must be a number from 0 to 4"):
        Recipe(jpeg_strength=5)
    with pytest.raises(BrightroomError, match="a JPEG quality must be auto or a whole number"):
        Recipe(jpeg="sometimes")
    assert Recipe(jpeg="ON").jpeg == "on" and Recipe(jpeg="35").jpeg == 35
    assert parse_recipe("deblock+upscale2").jpeg == "on"


def test_the_cli_refuses_bad_deblock_options(tmp_path, capsys):
    source = write_image(tmp_path / "a.png", smooth_image(32, 32, 3))
    assert main(["deblock", str(source), "--quality", "0"]) == 2
    assert main(["deblock", str(source), "--strength", "9"]) == 2
    assert main(["enhance", str(source), "--jpeg", "maybe"]) == 2
    err = capsys.readouterr().err
    assert "quality must be auto or a whole number" in err and "strength must be a number from 0 to 4" in err
    assert "Traceback" not in err and not list(tmp_path.glob("a-*"))


# ---------------------------------------------------------------- the model


@needs_model
def test_deblocking_restores_a_compressed_photo_told_or_blind(photo):
    for quality in (10, 30):
        compressed_photo = jpeg_compress(photo, quality)
        before = psnr(compressed_photo, photo)
        assert psnr(deblock(compressed_photo, quality=quality), photo) > before + 0.7
        assert psnr(deblock(compressed_photo), photo) > before + 0.5
    gray = jpeg_compress(photo[..., :1], 20)
    assert psnr(deblock(gray, quality=20), photo[..., :1]) > psnr(gray, photo[..., :1]) + 0.7


@needs_model
def test_strength_zero_is_untouched_and_strength_blends(photo):
    compressed_photo = jpeg_compress(photo, 20)
    assert np.array_equal(deblock(compressed_photo, quality=20, strength=0), compressed_photo)
    full = deblock(compressed_photo, quality=20)
    halfway = deblock(compressed_photo, quality=20, strength=0.5)
    # halfway between, but for the few pixels the full correction clips at 0 or 1
    assert np.abs(halfway - (compressed_photo + 0.5 * (full - compressed_photo))).mean() < 1e-4
    stronger = deblock(compressed_photo, quality=20, strength=2)
    assert np.abs(stronger - compressed_photo).mean() > np.abs(full - compressed_photo).mean()


@needs_model
def test_a_clean_photo_changes_less_than_one_save_at_quality_95(photo):
    restored = deblock(photo)
    assert psnr(restored, photo) > psnr(jpeg_compress(photo, 95), photo)


@needs_model
def test_black_and_white_photos_stay_black_and_white(photo):
    gray = np.repeat(jpeg_compress(photo[..., :1], 20), 3, axis=2)
    restored = deblock(gray, quality=20)
    assert np.abs(restored - restored[..., :1]).max() == 0


@needs_model
def test_the_blind_quality_reads_the_compression(photo):
    for quality in (10, 30, 60):
        assert abs(estimate_jpeg_quality(jpeg_compress(photo, quality)) - quality) <= 12
    assert estimate_jpeg_quality(photo) > JPEG_AUTO_QUALITY


@needs_model
@pytest.mark.slow
@pytest.mark.datasets
def test_the_blind_quality_is_within_10_on_live1():
    from brightroom.datasets import image_files

    files = image_files(shared_set("LIVE1"))[::2]
    errors = []
    for quality in (10, 30, 50, 70, 90):
        for path in files:
            image = read_image(path).pixels
            errors.append(estimate_jpeg_quality(jpeg_compress(image, quality)) - quality)
    errors = np.abs(errors)
    # where the DCT lattice is found the reading is exact to about 1; the learned fallback reads low
    assert np.median(errors) <= 2 and np.mean(errors <= 10) >= 0.8


# ---------------------------------------------------------------- the pipeline, the command, the service


@needs_model
def test_the_quality_comes_from_the_tables_or_the_pixels(photo):
    compressed_photo = jpeg_compress(photo, 30)
    assert jpeg_quality_of(compressed_photo, 30).source == "from the file's tables"
    reading = jpeg_quality_of(compressed_photo)  # a PNG saved from a JPEG: the DCT lattice is still there
    assert reading.source == "read from the pixels' DCT" and abs(reading.value - 30) <= 2
    assert jpeg_quality_of(photo).value == 100  # never compressed


def test_a_re_saved_crop_is_restored_at_its_first_save_quality(photo):
    from brightroom.degrade import jpeg_recompress
    from brightroom.tasks.jpeg import earlier_quality

    resaved = jpeg_recompress(photo, 30, 75, (3, 5))  # saved at 30, cropped off the grid, saved at 75
    reading = jpeg_quality_of(resaved, 75)  # the file's tables say 75
    assert abs(reading.value - 30) <= 5 and "an earlier save" in reading.source
    assert abs(estimate_jpeg_quality(resaved) - 30) <= 5  # from the pixels alone too
    once = jpeg_compress(photo, 75)
    assert earlier_quality(once, 75) is None and jpeg_quality_of(once, 75).value == 75
    assert earlier_quality(jpeg_recompress(photo, 30, 75, (8, 8)), 75) is None  # a crop on the grid: one lattice


@needs_model
def test_the_auto_recipe_deblocks_only_photos_that_show_artifacts(photo):
    assert "jpeg" not in [s.task for s in Recipe("auto").steps(photo)]
    steps = Recipe("auto").steps(jpeg_compress(photo, 20), jpeg_quality=20)
    assert steps[0].task == "jpeg" and steps[0].options["quality"].value == 20
    assert "jpeg" not in [s.task for s in Recipe("auto", jpeg="off").steps(jpeg_compress(photo, 20), jpeg_quality=20)]
    assert Recipe("off").steps(jpeg_compress(photo, 20), jpeg_quality=20) == []  # nothing asked


@needs_model
@pytest.mark.slow
def test_deblock_and_enhance_on_a_jpeg_file(tmp_path, photo, capsys):
    source = tmp_path / "phone.jpg"
    Image.fromarray(np.round(photo * 255).astype(np.uint8)).save(source, quality=25)
    assert main(["info", str(source)]) == 0
    assert "JPEG quality: 25" in capsys.readouterr().out
    assert main(["deblock", str(source), "-o", str(tmp_path / "out.png")]) == 0
    err = capsys.readouterr().err
    assert "jpeg (brightroom, quality: 25, from the file's tables)" in err
    restored = read_image(tmp_path / "out.png").pixels
    assert psnr(restored, photo) > psnr(read_image(source).pixels, photo) + 0.5
    assert main(["enhance", str(source), "-o", str(tmp_path / "auto.png")]) == 0
    assert "jpeg (brightroom, quality: 25" in capsys.readouterr().err
    assert main(["enhance", str(source), "--jpeg", "off", "-o", str(tmp_path / "off.png")]) == 0
    assert "jpeg (" not in capsys.readouterr().err


@needs_model
@pytest.mark.slow
def test_the_service_takes_jpeg_options(photo):
    from fastapi.testclient import TestClient

    from brightroom.serve.app import create_app
    from brightroom.serve.settings import Settings

    buffer = io.BytesIO()
    Image.fromarray(np.round(photo * 255).astype(np.uint8)).save(buffer, "JPEG", quality=20)
    with TestClient(create_app(Settings(workers=1))) as client:
        bad = client.post("/v1/jobs", files={"file": ("a.jpg", buffer.getvalue(), "image/jpeg")},
                          data={"jpeg": "sometimes"})
        assert bad.status_code == 400 and "JPEG quality" in bad.json()["error"]
        assert client.get("/v1/methods").json()["defaults"]["jpeg"] == "brightroom"


@pytest.mark.slow
def test_the_jpeg_model_trains_a_few_steps_and_exports(tmp_path):
    import torch

    for name, channels, size in (("gray", 1, 80), ("color", 3, 120)):
        (tmp_path / name).mkdir()
        for index in range(3):
            write_image(tmp_path / name / f"{index}.png", smooth_image(size, size, channels, seed=index))
    record, model = train_two_steps(tmp_path, "jpeg", "tiny-jpeg", f"""
task = "jpeg"
name = "tiny-jpeg"
[model]
architecture = "JPEGRestorer"
widths = [8, 16, 32]
blocks = 1
estimator_width = 8
estimator_blocks = 1
[data]
train_gray = "{tmp_path / 'gray'}"
train_color = "{tmp_path / 'color'}"
holdout_every = 3
patch_size = 16
batch_size = 4
""")
    assert record["step"] == 2 and record["val_psnr"] > 10
    with torch.no_grad():
        assert model(torch.rand(1, 1, 16, 16)).shape == (1, 1, 16, 16)
        assert model.estimator(torch.rand(1, 1, 16, 24)).shape == (1, 1, 16, 24)
