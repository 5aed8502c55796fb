"""RAW denoising: packing the Bayer planes, the noise profile from the data, the learned RAW
denoiser in develop / burst / the per-photo path, the DNG out, and the RAW benchmark."""

import dataclasses

import numpy as np
import pytest
import rawpy
import torch
from PIL import Image

from brightroom.bench.raw import LEVELS, camera_raws, run_raw_benchmark
from brightroom.camera.bayer import mosaic_image, pack_bayer, unpack_bayer
from brightroom.camera.noise import NoiseProfile, estimate_noise_profile, noise_std_map, raw_noise_profile
from brightroom.camera.unprocess import sensor_read_noise, unprocess_to_dng
from brightroom.cli import main
from brightroom.degrade import add_poisson_gaussian_noise
from brightroom.errors import BrightroomError
from brightroom.io import read_metadata
from brightroom.io.raw import RawImage, read_raw, write_raw_dng
from brightroom.nn.zoo import get_model
from brightroom.pipeline import Recipe, develop_photo, read_raw_photo
from brightroom.tasks.denoise_raw import denoise_raw, parse_noise_profile, parse_raw_denoise
from brightroom.train.raw import developed, gamma, simulate_raw, training_loss
from conftest import smooth_image, train_two_steps

raw_model = pytest.mark.skipif(not get_model("denoise-raw").shipped, reason="the RAW model is not shipped")


def gray_chart(levels=(0.0, 0.005, 0.02, 0.08, 0.2, 0.45, 0.8), rows=96, width=384) -> np.ndarray:
    """Flat gray patches from black to near white, as a sensor calibration chart."""
    return np.repeat(np.asarray(levels, np.float32), rows)[:, None].repeat(width, axis=1)


@pytest.mark.parametrize("pattern", ["RGGB", "BGGR", "GRBG", "GBRG"])
def test_packing_puts_red_first_and_blue_last_for_every_pattern(pattern):
    rgb = np.zeros((4, 4, 3), np.float32)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 0.25, 0.5, 0.75
    mosaic = mosaic_image(rgb, pattern)
    planes = pack_bayer(mosaic, pattern)
    assert planes.shape == (2, 2, 4)
    assert planes[0, 0].tolist() == [0.25, 0.5, 0.5, 0.75]
    assert np.array_equal(unpack_bayer(planes, pattern), mosaic)


@pytest.mark.parametrize("level", list(LEVELS))
def test_the_profile_is_recovered_within_15_percent_at_each_benchmark_level(level):
    a = LEVELS[level]
    b = sensor_read_noise(a) ** 2
    planes = np.repeat(gray_chart()[..., None], 4, axis=2)
    profile = estimate_noise_profile(add_poisson_gaussian_noise(planes, a, np.sqrt(b), seed=3))
    assert np.allclose(profile.a, a, rtol=0.15)
    assert np.allclose(profile.b, b, rtol=0.15)


def test_a_profile_that_no_sensor_shows_at_the_iso_is_brought_into_range():
    noisy = add_poisson_gaussian_noise(gray_chart(), 0.01, 0.01, seed=0)
    plausible = raw_noise_profile(RawImage(noisy, iso=6400))
    assert "plausible for ISO 6400" in plausible.note and np.isclose(np.mean(plausible.a), 0.01, rtol=0.15)
    clamped = raw_noise_profile(RawImage(noisy, iso=100))  # ISO 100 cannot be that noisy
    assert "implausible for ISO 100" in clamped.note and np.isclose(np.mean(clamped.a), 100 * 8e-6)
    assert "no ISO" in raw_noise_profile(RawImage(noisy)).note


def test_the_noise_map_follows_the_profile_and_a_scaled_profile():
    planes = np.full((16, 16, 4), 0.25, np.float32)
    profile = NoiseProfile.uniform(0.004, 1e-4)
    assert np.allclose(noise_std_map(planes, profile), np.sqrt(0.004 * 0.25 + 1e-4))
    assert np.allclose(noise_std_map(planes, profile.scaled(0.25)), np.sqrt(0.004 * 0.25 + 1e-4) / 2)


def test_user_options_are_checked_in_one_sentence():
    assert parse_raw_denoise("auto") == 1.0 and parse_raw_denoise("OFF") == 0.0 and parse_raw_denoise(2) == 2.0
    for bad in ("lots", "-1", "5", True):
        with pytest.raises(BrightroomError, match="RAW denoising takes auto, off or a strength"):
            parse_raw_denoise(bad)
    assert parse_noise_profile("0.002, 1e-6").b == (1e-6,) * 4
    for bad in ("1", "a,b", "-1,0", "0,0", "1,2,3"):
        with pytest.raises(BrightroomError, match="a noise profile is two numbers"):
            parse_noise_profile(bad)
    with pytest.raises(BrightroomError, match="RAW denoising takes"):
        Recipe("auto", raw_denoise="maybe")


def test_training_examples_keep_the_sensor_scale_and_develop_like_the_camera_pipeline():
    rng = np.random.default_rng(0)
    noisy, clean, profile, matrix = simulate_raw(smooth_image(64, 64, 3), rng, a=0.006)
    assert noisy.shape == clean.shape == (32, 32, 4)
    assert clean.min() >= 0 and clean.max() <= 1
    assert 0.3 < np.std(noisy - clean) / np.sqrt(np.mean(profile.variance(clean))) < 3
    # the loss's development undoes the unprocessing (white balance, colour matrix, exposure): the
    # planes of a flat sRGB 0.4 develop to its linear value, whatever the random darkening
    from brightroom.color import srgb_to_linear

    camera = {"cfa_pattern": "GBRG", "white_balance": (2.0, 1.0, 1.5), "tone_curve_strength": 0.0,
              "xyz_to_camera": np.array([[0.7, -0.1, -0.1], [-0.4, 1.2, 0.2], [-0.1, 0.2, 0.6]])}
    for seed in range(4):
        _, planes, _, matrix = simulate_raw(np.full((8, 8, 3), 0.4, np.float32), np.random.default_rng(seed),
                                            a=1e-4, camera=camera)
        linear = developed(torch.from_numpy(planes.transpose(2, 0, 1))[None], torch.from_numpy(matrix)[None])
        assert np.allclose(linear.numpy(), srgb_to_linear(np.float32(0.4)), atol=2e-3)
    values = torch.linspace(-0.05, 1, 200)
    assert torch.all(torch.diff(gamma(values)) > 0)
    target = (torch.rand(2, 4, 8, 8), torch.from_numpy(np.stack([matrix, matrix])))
    assert training_loss(target[0], target) == 0 and training_loss(target[0] + 0.01, target) > 0


def test_the_raw_model_trains_a_few_steps(tmp_path, image_folder):
    record, net = train_two_steps(tmp_path, "raw", "tiny-raw", f"""
task = "raw"
name = "tiny-raw"
[model]
architecture = "NoiseLevelUNet"
channels = 4
map_channels = 4
widths = [8, 16, 32]
blocks = 1
[data]
train = "{image_folder}"
holdout_every = 3
patch_size = 32
batch_size = 2
""")
    assert record["step"] == 2 and record["val_psnr"] > 10
    assert net(torch.rand(1, 4, 16, 16), torch.full((1, 4, 16, 16), 0.02)).shape == (1, 4, 16, 16)


def _noisy_scene_raw(a: float = 0.006, size: int = 192) -> tuple[RawImage, RawImage]:
    return camera_raws(smooth_image(size, size, 3, seed=4), a, seed=0)


@raw_model
def test_raw_denoising_removes_sensor_noise_and_keeps_the_file_scale():
    clean, noisy = _noisy_scene_raw()
    denoised = denoise_raw(noisy, profile=NoiseProfile.uniform(0.006, sensor_read_noise(0.006) ** 2))
    assert denoised.black_level == noisy.black_level and denoised.white_level == noisy.white_level
    error_before = np.abs(noisy.normalized() - clean.normalized()).mean()
    error_after = np.abs(denoised.normalized() - clean.normalized()).mean()
    assert error_after < 0.75 * error_before  # 0.65 measured with the shipped weights
    half = denoise_raw(noisy, strength=0.5, profile=NoiseProfile.uniform(0.006, 5e-5))
    assert error_after < np.abs(half.normalized() - clean.normalized()).mean() < error_before
    assert denoise_raw(noisy, strength=0) is noisy


@raw_model
def test_clipped_highlights_stay_white_after_raw_denoising():
    mosaic = np.full((64, 64), 0.4, np.float32)
    mosaic[:, 32:] = 1.0
    noisy = add_poisson_gaussian_noise(mosaic, 0.004, 0.003, seed=1)
    noisy[:, 32:] = 1.0  # the sensor clips
    denoised = denoise_raw(RawImage(noisy), profile=NoiseProfile.uniform(0.004, 9e-6))
    assert np.all(denoised.mosaic[:, 32:] == 1.0)


def test_demosaicked_raw_data_is_not_denoised_on_the_bayer_path():
    with pytest.raises(BrightroomError, match="works on a Bayer mosaic"):
        denoise_raw(RawImage(np.full((32, 32, 3), 0.5, np.float32), cfa_pattern="none"))


def test_a_raw_written_as_dng_reads_back_with_its_pixels_tags_and_exif(tmp_path):
    exif = Image.Exif()
    exif[271], exif[272] = "Brightroom", "Test Camera"  # a camera LibRaw has no colour table for
    details = exif.get_ifd(0x8769)
    details[34855], details[33434], details[33437], details[42036] = 6400, 1 / 125, 2.8, "RF 50mm"
    mosaic = np.round(512 + 4000 * smooth_image(64, 96, 1)[..., 0]).astype(np.float32)
    raw = RawImage(mosaic, "GRBG", np.array([[512.0, 510.0], [514.0, 512.0]]), 16383.0, (2.1, 1.0, 1.5),
                   np.array([[0.7, -0.1, -0.1], [-0.4, 1.2, 0.2], [-0.1, 0.2, 0.6]]), flip=6)
    path = write_raw_dng(tmp_path / "out.dng", raw, exif=exif.tobytes())
    back = read_raw(path)
    assert np.array_equal(back.mosaic, mosaic)
    assert back.cfa_pattern == "GRBG" and back.white_level == 16383 and back.flip == 6 and back.iso == 6400
    assert np.allclose(back.white_balance, raw.white_balance, atol=1e-3)
    assert np.allclose(back.xyz_to_camera, raw.xyz_to_camera, atol=1e-3)
    with rawpy.imread(str(path)) as handle:
        assert np.isclose(handle.other.shutter_speed, 1 / 125) and np.isclose(handle.other.aperture, 2.8)
        assert handle.lens.model == "RF 50mm"
    assert b"Test Camera" in read_metadata(path)[0]
    with pytest.raises(BrightroomError, match="already exists|exists"):
        write_raw_dng(path, raw)


def test_develop_writes_a_dng_and_refuses_bad_options(tmp_path, capsys):
    source = unprocess_to_dng(tmp_path / "scene.dng", smooth_image(64, 80, 3), shot=0.004, read=0.004)
    out = tmp_path / "clean.dng"
    assert main(["develop", str(source), "-o", str(out), "--denoise", "off"]) == 0
    assert np.array_equal(read_raw(out).mosaic, read_raw(source).mosaic)
    assert "not denoised (off)" in capsys.readouterr().err
    assert main(["develop", str(source), "-o", str(tmp_path / "x.tif"), "--denoise", "lots"]) == 2
    assert "RAW denoising takes auto, off or a strength" in capsys.readouterr().err
    assert main(["develop", str(source), "-o", str(tmp_path / "x.tif"), "--noise-profile", "1"]) == 2
    assert main(["develop", str(source), "-o", str(source)]) == 2
    assert "never overwrites an original" in capsys.readouterr().err
    assert not (tmp_path / "x.tif").exists()


@raw_model
def test_develop_denoises_a_raw_by_default_and_says_so(tmp_path, capsys):
    clean, noisy = _noisy_scene_raw(0.012)
    source = write_raw_dng(tmp_path / "noisy.dng", noisy)
    reference = develop_photo(write_raw_dng(tmp_path / "clean.dng", clean), denoise="off").pixels
    plain = develop_photo(source, denoise="off").pixels
    denoised, message, was_denoised = develop_photo(source)
    assert was_denoised
    assert "RAW denoised before demosaicking" in message
    assert np.abs(denoised - reference).mean() < 0.7 * np.abs(plain - reference).mean()
    assert main(["develop", str(source), "-o", str(tmp_path / "d.dng")]) == 0
    assert "RAW denoised" in capsys.readouterr().err
    assert np.abs(read_raw(tmp_path / "d.dng").normalized() - clean.normalized()).mean() \
        < np.abs(noisy.normalized() - clean.normalized()).mean()
    measured = read_raw_photo(source, denoise="off")
    assert measured.profile is None


@raw_model
def test_a_raw_burst_denoises_its_merged_mosaic_with_the_reduced_profile(tmp_path, capsys):
    from brightroom.camera.merge import merge_raw_frames
    from brightroom.camera.raw import develop

    image = smooth_image(192, 192, 3, seed=4)
    clean, _ = camera_raws(image, 0.012, seed=0)
    frames = [camera_raws(image, 0.012, seed=i)[1] for i in range(3)]
    reference = develop(clean)
    seen = []

    def denoiser(raw, profile):
        seen.append(profile)
        return denoise_raw(raw, profile=profile)

    def error(raw):
        return np.abs(develop(raw) - reference)[8:-8, 8:-8].mean()

    denoised = merge_raw_frames(frames, denoiser=denoiser)
    # the merged data's profile: the reference frame's, measured, over the three frames
    assert np.isclose(np.mean(seen[0].a), 0.012 / 3, rtol=0.2)
    assert error(denoised) < 0.9 * error(merge_raw_frames(frames, spatial_denoise=0.0))
    paths = [write_raw_dng(tmp_path / f"f{i}.dng", frame) for i, frame in enumerate(frames)]
    for setting in ("auto", "off"):
        assert main(["burst", *map(str, paths), "-o", str(tmp_path / f"{setting}.tif"), "--denoise", setting]) == 0
    assert main(["burst", *map(str, paths), "-o", str(tmp_path / "x.tif"), "--denoise", "lots"]) == 2


def test_the_raw_benchmark_rows_carry_the_protocol_fields(tmp_path, image_folder):
    rows = run_raw_benchmark([str(image_folder)], ["develop", "develop+brightroom"],
                             levels={"ISO 6400": 0.006}, limit=1, show_progress=False)
    assert [row["method"] for row in rows] == ["develop", "develop+brightroom"]
    for row in rows:
        assert row["task"] == "raw" and row["level"] == "ISO 6400" and row["a"] == 0.006
        assert np.isclose(row["b"], sensor_read_noise(0.006) ** 2) and row["images"] == 1
    assert rows[1]["psnr"] > rows[0]["psnr"]
    with pytest.raises(BrightroomError, match="unknown raw benchmark method"):
        run_raw_benchmark([str(image_folder)], ["magic"], limit=1, show_progress=False)


def test_info_prints_a_raw_files_noise_profile(tmp_path, capsys):
    source = unprocess_to_dng(tmp_path / "scene.dng", smooth_image(128, 128, 3), shot=0.004, read=0.004)
    assert main(["info", str(source)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("raw noise:"))
    assert "a = " in line and "per plane" in line


def test_the_noise_profile_of_an_unprocessed_dng_is_measured_near_its_truth(tmp_path):
    image = np.repeat(gray_chart(width=256)[..., None], 3, axis=2) ** (1 / 2.2)
    source = unprocess_to_dng(tmp_path / "chart.dng", image, shot=0.004, read=0.004,
                              white_balance=(1.0, 1.0, 1.0), tone_curve_strength=0.0, xyz_to_camera=None)
    raw = read_raw(source)
    # the DNG stores 14-bit integers over black 512: on its own [0, 1] scale the shot level is the same
    assert np.isclose(np.mean(raw_noise_profile(raw).a), 0.004, rtol=0.2)
    assert dataclasses.replace(raw, iso=None).iso is None


@pytest.mark.skipif(__import__("shutil").which("exiftool") is None, reason="exiftool is not installed")
def test_exiftool_validates_a_written_dng(tmp_path):
    import subprocess

    exif = Image.Exif()
    exif.get_ifd(0x8769)[34855] = 800
    raw = RawImage(np.round(600 + 3000 * smooth_image(64, 64, 1)[..., 0]), "RGGB", 512.0, 4095.0, (2.0, 1.0, 1.5))
    path = write_raw_dng(tmp_path / "v.dng", raw, exif=exif.tobytes())
    result = subprocess.run(["exiftool", "-validate", "-warning", "-a", str(path)], capture_output=True, text=True)
    assert "Validate" in result.stdout and ": OK" in result.stdout, result.stdout


@raw_model
def test_mirrored_passes_average_on_the_right_cfa_phase_and_keep_odd_edges():
    noisy = add_poisson_gaussian_noise(np.full((65, 71), 0.3, np.float32), 0.006, 0.007, seed=0)
    profile = NoiseProfile.uniform(0.006, 4.9e-5)
    residual = {k: np.std(denoise_raw(RawImage(noisy), profile=profile, orientations=k).mosaic[:64, :70] - 0.3)
                for k in (1, 2, 4)}
    assert residual[4] <= residual[2] <= residual[1] < 0.6 * np.std(noisy - 0.3)
    out = denoise_raw(RawImage(noisy), profile=profile, orientations=4).mosaic
    assert out.shape == noisy.shape and out[64, 70] == noisy[64, 70]  # the odd last row and column as recorded
    with pytest.raises(BrightroomError, match="1, 2 or 4 orientations"):
        denoise_raw(RawImage(noisy), profile=profile, orientations=3)


@raw_model
def test_enhance_on_a_raw_denoises_it_once_before_demosaicking(tmp_path):
    from brightroom.pipeline import process_photo

    _, noisy = _noisy_scene_raw(0.012)
    source = write_raw_dng(tmp_path / "noisy.dng", noisy)
    result = process_photo(source, tmp_path / "out.tif", Recipe("auto"))
    assert result.message.startswith("developed; RAW denoised before demosaicking")
    assert [step.task for step in result.steps] == []  # no second, sRGB denoising
    off = process_photo(source, tmp_path / "off.tif", Recipe("auto", raw_denoise="off"))
    assert "not denoised (off)" in off.message and [step.task for step in off.steps] == ["denoise"]
