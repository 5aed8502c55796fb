"""The command line, run in a subprocess as a user would: exit codes, messages, files left behind."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from brightroom.degrade import add_gaussian_noise
from brightroom.io import read_image, write_image
from conftest import smooth_image


def brightroom(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brightroom.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def noisy_png(tmp_path: Path) -> Path:
    noisy = np.clip(add_gaussian_noise(smooth_image(48, 64, 3), 15, seed=3), 0, 1)
    return write_image(tmp_path / "noisy.png", noisy)


def test_help_lists_the_commands():
    result = brightroom("--help")
    assert result.returncode == 0
    for command in ("info", "denoise", "upscale", "enhance", "bench", "train", "methods"):
        assert command in result.stdout


def test_info_reports_size_mode_and_noise(noisy_png):
    result = brightroom("info", str(noisy_png))
    assert result.returncode == 0
    assert "64 x 48" in result.stdout and "RGB, 8-bit" in result.stdout
    sigma = float(result.stdout.split("noise sigma:")[1].split()[0])
    assert 10 < sigma < 20


def test_denoise_writes_a_cleaner_image_and_never_overwrites(noisy_png, tmp_path):
    output = tmp_path / "clean.png"
    result = brightroom("denoise", str(noisy_png), "-o", str(output), "--method", "nlm", "--sigma", "15")
    assert result.returncode == 0, result.stderr
    assert read_image(output).pixels.std() < read_image(noisy_png).pixels.std()
    again = brightroom("denoise", str(noisy_png), "-o", str(output), "--method", "nlm")
    assert again.returncode == 2 and "--overwrite" in again.stderr
    same = brightroom("denoise", str(noisy_png), "-o", str(noisy_png), "--method", "nlm", "--overwrite")
    assert same.returncode == 2 and "never overwrites an original" in same.stderr


def test_upscale_and_default_output_name(noisy_png):
    result = brightroom("upscale", str(noisy_png), "--scale", "3")
    assert result.returncode == 0, result.stderr
    written = noisy_png.with_name("noisy-x3.png")
    assert Path(result.stdout.strip()) == written
    assert read_image(written).pixels.shape == (144, 192, 3)


def test_enhance_denoises_with_the_auto_recipe(noisy_png, tmp_path):
    result = brightroom("enhance", str(noisy_png), "-o", str(tmp_path / "out.png"))
    assert result.returncode == 0, result.stderr
    assert "denoise (" in result.stderr
    assert read_image(tmp_path / "out.png").pixels.shape == (48, 64, 3)


@pytest.mark.parametrize(
    "make_input, args, message",
    [
        (lambda d: d / "missing.png", ["denoise"], "no such file"),
        (lambda d: d, ["denoise"], "it is a folder"),
        (lambda d: _write(d / "empty.png", b""), ["denoise"], "empty"),
        (lambda d: _write(d / "notes.png", b"hello, not a picture\n" * 20), ["enhance"], "not an image"),
        (lambda d: _truncated_png(d), ["denoise", "--method", "nlm"], "truncated or corrupt"),
        (lambda d: _valid_png(d), ["denoise", "--sigma", "90"], "sigma must be from 0 to 75"),
        (lambda d: _valid_png(d), ["denoise", "--method", "magic"], "unknown denoise method 'magic'"),
        (lambda d: _valid_png(d), ["upscale", "--scale", "8"], "scale must be one of 2, 3, 4"),
        (lambda d: _valid_png(d), ["enhance", "-o", "out.xyz"], "cannot write"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, make_input, args, message):
    source = make_input(tmp_path)
    command, *options = args
    before = set(tmp_path.rglob("*"))
    result = brightroom(command, str(source), *options, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert set(tmp_path.rglob("*")) == before  # nothing written, not even a temporary file


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _valid_png(folder: Path) -> Path:
    return write_image(folder / "ok.png", smooth_image(32, 32, 3))


def _truncated_png(folder: Path) -> Path:
    data = _valid_png(folder).read_bytes()
    return _write(folder / "cut.png", data[: len(data) // 2])


def test_argument_errors_exit_2():
    assert brightroom("upscale").returncode == 2
    assert brightroom("frobnicate").returncode == 2


def test_upscale_with_own_weights_errors_clearly(noisy_png, tmp_path):
    missing = brightroom("upscale", str(noisy_png), "--scale", "2", "--weights", str(tmp_path / "none.pth"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    result = brightroom("upscale", str(noisy_png), "--scale", "2", "--weights", str(junk))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "spandrel" in result.stderr
    assert not noisy_png.with_name("noisy-x2.png").exists()


def _tiny_public_models():
    """Tiny, randomly initialised models of three public SR architectures, as their authors save them."""
    from brightroom.nn.foreign import _stand_in_torchvision

    _stand_in_torchvision()
    from spandrel.architectures.Compact import Compact
    from spandrel.architectures.ESRGAN import ESRGAN
    from spandrel.architectures.SwinIR import SwinIR

    return {
        "real-esrgan-compact": Compact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=2),
        "esrgan-rrdb": ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=2),
        "swinir": SwinIR(img_size=16, embed_dim=12, depths=[1], num_heads=[2], window_size=4,
                         mlp_ratio=2.0, upscale=2, upsampler="pixelshuffledirect"),
    }


@pytest.mark.parametrize("name", ["real-esrgan-compact", "esrgan-rrdb", "swinir"])
def test_upscale_with_own_weights_through_spandrel(noisy_png, tmp_path, name):
    import torch

    torch.manual_seed(0)
    model = _tiny_public_models()[name]
    weights = tmp_path / f"{name}.pth"
    torch.save(model.state_dict(), weights)
    result = brightroom("upscale", str(noisy_png), "--scale", "2", "--weights", str(weights))
    assert result.returncode == 0, result.stderr
    assert read_image(noisy_png.with_name("noisy-x2.png")).pixels.shape == (96, 128, 3)
    wrong = brightroom("upscale", str(noisy_png), "--scale", "4", "--weights", str(weights))
    assert wrong.returncode == 2 and "upscale by 2, not 4" in wrong.stderr


@pytest.mark.parametrize("side", [1, 9, 14])
def test_icons_and_thumbnails_are_described_and_never_crash(tmp_path, side):
    icon = write_image(tmp_path / "icon.png", np.full((side, side, 3), 0.5, np.float32))
    info = brightroom("info", str(icon))
    assert info.returncode == 0, info.stderr
    assert float(info.stdout.split("noise sigma:")[1].split()[0]) == 0
    enhanced = brightroom("enhance", str(icon), "-o", str(tmp_path / "out.png"))
    assert enhanced.returncode in (0, 2) and "internal error" not in enhanced.stderr


def test_an_exif_orientation_of_zero_is_read_as_unknown(tmp_path):
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0112] = "Huawei", 0  # a value the standard does not define, as some phones write
    path = tmp_path / "phone.jpg"
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(path, exif=exif.tobytes())
    info = brightroom("info", str(path))
    assert info.returncode == 0 and "Huawei" in info.stdout, info.stderr


def test_info_reads_the_noise_of_a_large_photo_from_tiles_spread_over_it():
    from brightroom.cli import _sample_tiles

    small = np.zeros((600, 800, 3), np.float32)
    assert len(_sample_tiles(small)) == 1 and _sample_tiles(small)[0] is small
    large = np.zeros((3000, 4000, 3), np.float32)
    large[-1, -1] = 1.0
    tiles = _sample_tiles(large)
    assert len(tiles) == 16 and all(tile.shape == (512, 512, 3) for tile in tiles)
    assert tiles[-1][-1, -1, 0] == 1.0 and tiles[0].base is not None  # views reaching the far corner, no copies


def test_a_reader_that_stops_early_gets_no_error_message(tmp_path):
    import subprocess
    import sys

    from brightroom.io import write_image

    photo = write_image(tmp_path / "p.jpg", np.random.default_rng(0).random((64, 64, 3)).astype(np.float32))
    process = subprocess.Popen([sys.executable, "-m", "brightroom.cli", "info", str(photo)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.readline()
    process.stdout.close()  # as `brightroom info p.jpg | head -1` does
    _, errors = process.communicate(timeout=120)
    assert errors == b"" and process.returncode in (0, 141)


def test_models_lists_each_shipped_model_with_its_record_and_int8_ranges(capsys):
    from brightroom.cli import main
    from brightroom.nn.zoo import MODELS

    assert main(["models"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert set(lines) == set(MODELS)
    assert "2,351,664 parameters" in lines["denoise-color"] and "int8 ranges" in lines["denoise-color"]
