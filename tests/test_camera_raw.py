"""Tests for RAW development, demosaicking and unprocessing (brightroom.camera)."""

from __future__ import annotations

import numpy as np
import pytest
import rawpy
from skimage import data as skdata
from skimage.color import deltaE_ciede2000, rgb2lab

from brightroom.camera import (
    RawImage,
    demosaic,
    develop,
    develop_raw,
    mosaic_image,
    read_raw,
    unprocess,
    unprocess_to_dng,
    write_raw_dng,
)
from brightroom.camera.raw import camera_to_srgb_matrix, gray_world_gains
from brightroom.camera.tone import inverse_tone_curve, local_tone_map, tone_curve
from brightroom.camera.unprocess import EXAMPLE_XYZ_TO_CAMERA
from brightroom.color import XYZ_TO_LINEAR_SRGB, linear_to_srgb, srgb_to_linear
from brightroom.errors import BrightroomError
from brightroom.io import write_dng, write_image

PATTERNS = ["RGGB", "BGGR", "GRBG", "GBRG"]

# A colour checker: sRGB values of the 24 ColorChecker Classic patches (rows of six;
# the last row is the six neutral patches, white to black).
CHECKER = np.array(
    [
        [115, 82, 68], [194, 150, 130], [98, 122, 157], [87, 108, 67], [133, 128, 177], [103, 189, 170],
        [214, 126, 44], [80, 91, 166], [193, 90, 99], [94, 60, 108], [157, 188, 64], [224, 163, 46],
        [56, 61, 150], [70, 148, 73], [175, 54, 60], [231, 199, 31], [187, 86, 149], [8, 133, 161],
        [243, 243, 242], [200, 200, 200], [160, 160, 160], [122, 122, 121], [85, 85, 85], [52, 52, 52],
    ],
    np.float32,
) / 255
PATCH = 16


def checker_image() -> np.ndarray:
    """4 x 6 flat patches of PATCH pixels each."""
    return np.kron(CHECKER.reshape(4, 6, 3), np.ones((PATCH, PATCH, 1), np.float32)).astype(np.float32)


def patch_means(image: np.ndarray) -> np.ndarray:
    """The mean colour of each patch's centre (away from demosaicking at the patch edges)."""
    inner = slice(4, PATCH - 4)
    cells = image.reshape(4, PATCH, 6, PATCH, 3).transpose(0, 2, 1, 3, 4)
    return cells[:, :, inner, inner].mean(axis=(2, 3)).reshape(24, 3)


def delta_e(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return deltaE_ciede2000(rgb2lab(np.clip(a, 0, 1)[None]), rgb2lab(np.clip(b, 0, 1)[None]))[0]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


def photo_crop(size: int = 128) -> np.ndarray:
    return (skdata.astronaut()[100 : 100 + size, 180 : 180 + size] / 255.0).astype(np.float32)


# ---------------------------------------------------------------- demosaicking


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("method", ["bilinear", "mhc"])
def test_demosaic_returns_a_flat_colour_field_exactly(pattern, method):
    flat = np.broadcast_to(np.array([0.7, 0.4, 0.1], np.float32), (10, 14, 3))
    out = demosaic(mosaic_image(flat, pattern), pattern, method)
    assert out.shape == (10, 14, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, flat, atol=1e-6)


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("method", ["bilinear", "mhc"])
def test_demosaic_keeps_the_sampled_values(pattern, method):
    image = photo_crop(32)
    mosaic = mosaic_image(image, pattern)
    out = demosaic(mosaic, pattern, method)
    np.testing.assert_allclose(mosaic_image(out, pattern), mosaic, atol=1e-6)


def test_mhc_beats_bilinear_on_a_smooth_image():
    y, x = np.mgrid[0:64, 0:64].astype(np.float32)
    luminance = 0.5 + 0.3 * np.sin(x / 3) * np.cos(y / 2.4)
    smooth = (luminance[..., None] * np.array([0.9, 0.7, 0.5], np.float32)).astype(np.float32)
    errors = {}
    for method in ("bilinear", "mhc"):
        out = demosaic(mosaic_image(smooth, "RGGB"), "RGGB", method)
        errors[method] = psnr(out[4:-4, 4:-4], smooth[4:-4, 4:-4])
    assert errors["mhc"] > errors["bilinear"] + 1.5


def test_mhc_beats_bilinear_on_a_photo():
    image = photo_crop(128)
    scores = {m: psnr(np.clip(demosaic(mosaic_image(image), "RGGB", m), 0, 1)[4:-4, 4:-4], image[4:-4, 4:-4])
              for m in ("bilinear", "mhc")}
    assert scores["mhc"] > scores["bilinear"] + 3
    assert scores["bilinear"] > 25


def test_demosaic_bad_input():
    with pytest.raises(BrightroomError, match="unknown demosaicking method 'ahd'"):
        demosaic(np.zeros((8, 8), np.float32), method="ahd")
    with pytest.raises(BrightroomError, match="unknown CFA pattern 'RGBG'"):
        demosaic(np.zeros((8, 8), np.float32), pattern="RGBG")
    with pytest.raises(BrightroomError, match="2-D"):
        demosaic(np.zeros((8, 8, 3), np.float32))


# ---------------------------------------------------------------- tone


def test_tone_curve_and_its_inverse():
    x = np.linspace(0, 1, 101, dtype=np.float32)
    for strength in (0.0, 0.5, 1.0):
        np.testing.assert_allclose(inverse_tone_curve(tone_curve(x, strength), strength), x, atol=2e-3)
    assert tone_curve(np.float32(0.25), 1.0) == pytest.approx(0.15625)  # smoothstep
    assert tone_curve(np.float32(0.75), 0.5) > 0.75  # an S: brighter above the middle, darker below
    with pytest.raises(BrightroomError, match="from 0 to 1"):
        tone_curve(x, 1.5)


def test_local_tone_mapping_lifts_shadows_and_keeps_hue():
    image = np.full((64, 64, 3), 0.5, np.float32) * np.array([1.0, 0.5, 0.25], np.float32)
    image[:, :32] *= 0.02
    out = local_tone_map(image, 0.5)
    assert out[10, 10, 0] > 3 * image[10, 10, 0]  # the dark half is lifted
    assert out[10, 50, 0] == pytest.approx(image[10, 50, 0], rel=0.02)  # the bright half is kept
    np.testing.assert_allclose(out[10, 10] / out[10, 10, 0], image[10, 10] / image[10, 10, 0], rtol=1e-4)


# ---------------------------------------------------------------- development


def test_develop_in_memory_gray_mosaic():
    raw = RawImage(np.full((16, 16), 1000.0, np.float32), black_level=200.0, white_level=4200.0)
    out = develop(raw, tone_curve_strength=0, local_tone=0)
    np.testing.assert_allclose(out, linear_to_srgb(np.float32(0.2)), atol=1e-5)


def test_develop_applies_per_position_black_levels():
    # A gray card at linear 0.25 on a sensor with a different black level at each CFA position.
    blacks = np.array([[500, 510], [520, 530]], np.float32)
    mosaic = np.tile(blacks, (8, 8)) + 0.25 * (4095 - np.tile(blacks, (8, 8)))
    out = develop(RawImage(mosaic, black_level=blacks, white_level=4095), tone_curve_strength=0, local_tone=0)
    np.testing.assert_allclose(out, linear_to_srgb(np.float32(0.25)), atol=1e-3)


def test_exposure_scales_linear_light():
    raw = RawImage(np.full((16, 16), 0.1, np.float32))
    brighter = develop(raw, exposure=1.0, tone_curve_strength=0, local_tone=0)
    assert srgb_to_linear(brighter)[8, 8, 1] == pytest.approx(0.2, rel=1e-3)
    with pytest.raises(BrightroomError, match="exposure"):
        develop(raw, exposure=float("nan"))


def test_colour_matrix_construction():
    np.testing.assert_allclose(camera_to_srgb_matrix(XYZ_TO_LINEAR_SRGB), np.eye(3), atol=1e-6)
    matrix = camera_to_srgb_matrix(EXAMPLE_XYZ_TO_CAMERA)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-6)  # white-balanced white stays white
    assert matrix[0, 0] > 1.3  # a real camera needs saturation added back


def test_gray_world_fallback_balances_a_tinted_scene():
    # No as-shot white balance: a gray scene seen through a warm cast comes out neutral.
    scene = np.full((32, 32, 3), 0.3, np.float32) * np.array([0.6, 1.0, 0.45], np.float32)
    raw = RawImage(mosaic_image(scene), white_balance=None)
    np.testing.assert_allclose(gray_world_gains(raw.mosaic, "RGGB"), [1 / 0.6, 1.0, 1 / 0.45], rtol=1e-4)
    out = develop(raw, local_tone=0)
    assert np.ptp(out[16, 16]) < 1e-3
    tinted = develop(raw, white_balance=(1, 1, 1), local_tone=0)
    assert tinted[16, 16, 1] > tinted[16, 16, 2] + 0.2


def test_develop_rotates_by_the_flip_code():
    mosaic = np.zeros((8, 12), np.float32)
    raw = RawImage(mosaic, flip=6)
    assert develop(raw).shape == (12, 8, 3)


def test_develop_bad_options():
    raw = RawImage(np.full((8, 8), 0.5, np.float32))
    with pytest.raises(BrightroomError, match="white balance must be one of"):
        develop(raw, white_balance="tungsten")
    with pytest.raises(BrightroomError, match="three positive numbers"):
        develop(raw, white_balance=(1, 0, 1))
    with pytest.raises(BrightroomError, match="no as-shot white balance"):
        develop(raw, white_balance="as-shot")
    with pytest.raises(BrightroomError, match="local tone mapping strength"):
        develop(raw, local_tone=2)


# ---------------------------------------------------------------- DNG files end to end


def test_develop_a_project_dng_with_neutral_grays(tmp_path):
    """A DNG written by Brightroom's writer (gray card, per-position black levels, an
    as-shot neutral) develops to neutral gray at the right level."""
    neutral = np.array([0.5, 1.0, 0.7])  # the camera sees gray as greenish
    level = 0.3
    bayer = np.empty((64, 96))
    blacks = (510, 512, 514, 516)
    for position, (row, col) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        channel = "RGGB"[position]
        response = neutral["RGB".index(channel)]
        bayer[row::2, col::2] = blacks[position] + level * response * (16383 - blacks[position])
    path = write_dng(tmp_path / "gray.dng", np.round(bayer).astype(np.uint16), black_level=blacks,
                     white_level=16383, as_shot_neutral=neutral)
    out = develop_raw(path, tone_curve_strength=0, local_tone=0)
    assert out.shape == (64, 96, 3)
    centre = out[8:-8, 8:-8].reshape(-1, 3).mean(axis=0)
    expected = linear_to_srgb(np.float32(level))
    assert delta_e(centre, np.full(3, expected))[()] < 0.5
    assert np.ptp(centre) < 2 / 255


def test_colour_checker_round_trip_through_a_dng(tmp_path):
    """unprocess -> DNG -> rawpy -> develop: every patch within Delta E 3, grays neutral."""
    chart = checker_image()
    path = unprocess_to_dng(tmp_path / "chart.dng", chart, shot=0, read=0)
    with rawpy.imread(str(path)) as raw:  # a real DNG that LibRaw reads back
        assert raw.raw_image.shape == chart.shape[:2] and raw.white_level == 16383
    out = develop_raw(path, local_tone=0)  # the same tone curve that unprocess inverted
    errors = delta_e(patch_means(out), CHECKER)
    assert errors.max() < 3, errors
    grays = patch_means(out)[18:]
    lab = rgb2lab(np.clip(grays, 0, 1)[None])[0]
    assert np.hypot(lab[:, 1], lab[:, 2]).max() < 1.0  # chroma of the neutral patches


def test_default_development_keeps_grays_neutral(tmp_path):
    path = unprocess_to_dng(tmp_path / "chart.dng", checker_image(), shot=0, read=0)
    out = develop_raw(path)  # with local tone mapping: levels change, neutrality must not
    lab = rgb2lab(np.clip(patch_means(out)[18:], 0, 1)[None])[0]
    assert np.hypot(lab[:, 1], lab[:, 2]).max() < 1.5


def test_unprocess_then_develop_round_trip():
    image = photo_crop(96)
    for pattern in ("RGGB", "GBRG"):
        raw = unprocess(image, cfa_pattern=pattern, exposure=0.5, shot=0, read=0)
        back = develop(raw, exposure=0.5, local_tone=0)
        assert psnr(back[4:-4, 4:-4], image[4:-4, 4:-4]) > 27  # demosaicking is the only loss
    flat = np.full((32, 32, 3), 0.4, np.float32) * np.array([1.0, 0.8, 0.6], np.float32)
    np.testing.assert_allclose(develop(unprocess(flat, shot=0, read=0), local_tone=0), flat, atol=2e-3)


def test_unprocessed_raw_looks_like_a_sensor():
    image = np.full((64, 64, 3), 0.5, np.float32)
    raw = unprocess(image, shot=0, read=0)
    # White balance undone: green is recorded strongest, red and blue weaker by the gains.
    assert raw.mosaic[0::2, 1::2].mean() == pytest.approx(2.0 * raw.mosaic[0::2, 0::2].mean(), rel=1e-3)
    assert raw.mosaic[1::2, 1::2].mean() == pytest.approx(raw.mosaic[0::2, 1::2].mean() / 1.6, rel=1e-3)
    noisy = unprocess(image, shot=0.01, read=0.02, seed=3)
    residual = noisy.mosaic - raw.mosaic
    expected = np.sqrt(0.01 * raw.mosaic + 0.02**2)
    assert (residual / expected).std() == pytest.approx(1.0, abs=0.03)
    assert abs(residual.mean()) < 2e-3


def test_write_raw_dng_reads_back_through_rawpy(tmp_path):
    raw = unprocess(photo_crop(64), shot=0.001, read=0.002, seed=1)
    path = write_raw_dng(tmp_path / "u.dng", raw)
    back = read_raw(path)
    assert back.cfa_pattern == "RGGB" and back.white_level == 16383
    np.testing.assert_allclose(back.black_level, 512)
    np.testing.assert_allclose(back.white_balance, (2.0, 1.0, 1.6), rtol=1e-3)
    np.testing.assert_allclose(back.xyz_to_camera, EXAMPLE_XYZ_TO_CAMERA, atol=1e-4)
    np.testing.assert_allclose(back.normalized(), np.clip(raw.mosaic, -512 / 15871, 1), atol=1 / 15871)


def test_develop_refuses_what_is_not_raw(tmp_path):
    png = write_image(tmp_path / "photo.png", photo_crop(32))
    with pytest.raises(BrightroomError, match=r"cannot develop '.*photo.png': it is not a camera RAW file"):
        develop_raw(png)
    with pytest.raises(BrightroomError, match="no such file"):
        develop_raw(tmp_path / "missing.dng")
    broken = tmp_path / "broken.dng"
    broken.write_bytes(b"II*\x00" + b"\x00" * 100)
    with pytest.raises(BrightroomError, match="broken.dng"):
        develop_raw(broken)


def test_unprocess_bad_input():
    with pytest.raises(BrightroomError, match="RGB image"):
        unprocess(np.zeros((16, 16, 1), np.float32))
    with pytest.raises(BrightroomError, match="three positive numbers"):
        unprocess(np.zeros((16, 16, 3), np.float32), white_balance=(1, 1))
    with pytest.raises(BrightroomError, match="at least 0"):
        unprocess(np.zeros((16, 16, 3), np.float32), shot=-1)


@pytest.mark.parametrize("pattern", ["RGGB", "BGGR", "GRBG", "GBRG"])
def test_rcd_demosaicking_beats_mhc_on_a_photo_in_every_phase(pattern):
    image = photo_crop(96)
    mosaic = mosaic_image(image, pattern)
    rcd, mhc = (psnr(np.clip(demosaic(mosaic, pattern, m), 0, 1), image) for m in ("rcd", "mhc"))
    assert rcd > mhc + 1.0
    flat = mosaic_image(np.full((16, 16, 3), (0.7, 0.4, 0.1), np.float32), pattern)
    assert np.allclose(demosaic(flat, pattern, "rcd"), (0.7, 0.4, 0.1), atol=1e-6)


def test_a_linear_and_a_monochrome_dng_develop_through_the_colour_pipeline(tmp_path):
    from brightroom.io import write_dng

    scene = photo_crop(48)
    linear = write_dng(tmp_path / "linear.dng", np.round(srgb_to_linear(scene) * 60000).astype(np.uint16))
    raw = read_raw(linear)
    assert raw.mosaic.shape == (48, 48, 3) and not raw.is_bayer
    developed = develop(raw, white_balance=(1, 1, 1), tone_curve_strength=0, local_tone=0)
    assert np.abs(developed - scene).mean() < 0.05
    mono = write_dng(tmp_path / "mono.dng", np.round(srgb_to_linear(scene[..., 1:2]) * 60000).astype(np.uint16))
    gray = develop(read_raw(mono), tone_curve_strength=0, local_tone=0)
    assert np.array_equal(gray[..., 0], gray[..., 2]) and np.abs(gray[..., 0] - scene[..., 1]).mean() < 0.05


def test_white_balance_by_colour_temperature_and_tint():
    from brightroom.camera.raw import kelvin_gains, parse_kelvin

    tungsten, daylight = kelvin_gains(3200), kelvin_gains(6504)
    assert tungsten[2] > 1.5 * tungsten[0] and np.allclose(daylight, 1, atol=0.01)
    assert (kelvin_gains(5000, tint=40)[[0, 2]] > kelvin_gains(5000)[[0, 2]]).all()
    raw = RawImage(np.full((16, 16), 0.3, np.float32))
    warm = develop(raw, white_balance="3200K", tone_curve_strength=0, local_tone=0)
    assert warm[8, 8, 2] > warm[8, 8, 0]  # a neutral patch under 3200 K settings turns blue
    for bad in ("900K", "5500K+300", "warm"):
        with pytest.raises(BrightroomError, match="colour temperature|tint"):
            parse_kelvin(bad)


def test_highlights_roll_off_to_white_instead_of_clipping_to_cyan():
    clouds = np.full((32, 32, 3), (0.55, 0.8, 0.9), np.float32)  # bright, slightly blue: clips unevenly
    raw = unprocess(clouds, shot=0, read=0)
    rolled = develop(raw, exposure=1.5, white_balance="as-shot", local_tone=0)[16, 16]
    clipped = develop(raw, exposure=1.5, white_balance="as-shot", local_tone=0, highlights="clip")[16, 16]
    assert clipped[1] == clipped[2] == 1.0  # green and blue flat at white: cyan
    assert rolled.max() < 1.0 and rolled[2] >= rolled[1] >= rolled[0]  # the hue kept, below white
    with pytest.raises(BrightroomError, match="highlights must be one of"):
        develop(raw, highlights="recover")


def test_rcd_in_bands_equals_one_whole_pass(monkeypatch):
    import importlib

    module = importlib.import_module("brightroom.camera.demosaic")
    image = np.tile(photo_crop(96), (3, 1, 1))  # 288 rows
    mosaic = mosaic_image(image, "GRBG")
    whole = demosaic(mosaic, "GRBG", "rcd")
    monkeypatch.setattr(module, "_BAND_PIXELS", 64 * 96)  # bands of 64 rows, run on threads
    assert np.array_equal(demosaic(mosaic, "GRBG", "rcd"), whole)
