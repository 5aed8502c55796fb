"""Tests for brightroom.io: round trips, metadata, DNG, limits and every kind of bad input."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import rawpy
import tifffile
from PIL import Image, ImageCms, ImageFile, ImageOps

from brightroom.errors import BrightroomError
from brightroom.io import (
    DEFAULT_MAX_PIXELS,
    READABLE_SUFFIXES,
    WRITABLE_SUFFIXES,
    Photo,
    probe_image,
    read_image,
    write_dng,
    write_image,
)

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
H, W = 48, 64


# ---------------------------------------------------------------- helpers


def smooth_image(channels: int = 3, height: int = H, width: int = W, seed: int = 0) -> np.ndarray:
    """A smooth colour gradient with mild noise: compresses like a photo."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    planes = [0.5 + 0.4 * np.sin(x / 9 + k) * np.cos(y / 7 - k) for k in range(channels)]
    noise = np.random.default_rng(seed).normal(0, 0.01, (height, width, channels))
    return np.clip(np.stack(planes, -1) + noise, 0, 1).astype(np.float32)


def random_image(channels: int = 3, height: int = H, width: int = W, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((height, width, channels), dtype=np.float32)


def random_alpha(height: int = H, width: int = W, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).random((height, width), dtype=np.float32)


def quantised(values: np.ndarray, bits: int) -> np.ndarray:
    top = 2**bits - 1
    return np.round(np.clip(values, 0, 1) * top) / top


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def png_bytes(
    samples: np.ndarray, color_type: int, bit_depth: int, *, size: tuple[int, int] | None = None, exif: bytes = b""
) -> bytes:
    """A minimal PNG built by hand, for layouts our writers never produce and for lying headers."""
    height, width = samples.shape[:2]
    dtype = ">u2" if bit_depth == 16 else "u1"
    rows = b"".join(b"\x00" + samples[r].astype(dtype).tobytes() for r in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    claimed_width, claimed_height = size or (width, height)
    header = struct.pack(">IIBBBBB", claimed_width, claimed_height, bit_depth, color_type, 0, 0, 0)
    metadata = chunk(b"eXIf", exif.removeprefix(b"Exif\x00\x00")) if exif else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + metadata
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def camera_exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS R5"
    exif[0x0112] = orientation
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2024:05:06 07:08:09"  # DateTimeOriginal
    sub[0x8827] = 400  # ISO
    return exif.tobytes()


def exif_of(photo: Photo) -> Image.Exif:
    assert photo.exif is not None and photo.exif.startswith(b"Exif\x00\x00")
    exif = Image.Exif()
    exif.load(photo.exif)
    return exif


def asymmetric_image(height: int = 24, width: int = 36) -> np.ndarray:
    """Blocks of distinct colours, so any rotation or mirror is visible even after JPEG."""
    image = np.zeros((height, width, 3), np.float32)
    image[: height // 2, : width // 3] = (1, 0, 0)
    image[: height // 2, width // 3 :] = (0, 1, 0)
    image[height // 2 :, : 2 * width // 3] = (0, 0, 1)
    image[height // 2 :, 2 * width // 3 :] = (1, 1, 1)
    return image


def folder_listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------- the interface


def test_suffix_tables_and_default_limit():
    assert DEFAULT_MAX_PIXELS == 100_000_000
    for suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".heic", ".heif"):
        assert suffix in WRITABLE_SUFFIXES and suffix in READABLE_SUFFIXES
    for suffix in (".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw"):
        assert suffix in READABLE_SUFFIXES and suffix not in WRITABLE_SUFFIXES
    assert all(s == s.lower() and s.startswith(".") for s in READABLE_SUFFIXES)


# ---------------------------------------------------------------- lossless round trips


@pytest.mark.parametrize("channels, with_alpha", [(1, False), (3, False), (1, True), (3, True)])
def test_png_8bit_round_trip_is_exact(tmp_path, channels, with_alpha):
    pixels, alpha = random_image(channels), random_alpha() if with_alpha else None
    path = write_image(tmp_path / "out.png", pixels, alpha=alpha)
    photo = read_image(path)
    assert (photo.format, photo.bit_depth, photo.path) == ("png", 8, path)
    assert photo.pixels.dtype == np.float32 and photo.pixels.shape == (H, W, channels)
    np.testing.assert_allclose(photo.pixels, quantised(pixels, 8), atol=1e-6)
    if with_alpha:
        np.testing.assert_allclose(photo.alpha, quantised(alpha, 8), atol=1e-6)
    else:
        assert photo.alpha is None


@pytest.mark.parametrize("channels, with_alpha", [(1, False), (3, False), (3, True)])
def test_png_16bit_round_trip_is_exact_to_one_step(tmp_path, channels, with_alpha):
    pixels, alpha = random_image(channels), random_alpha() if with_alpha else None
    photo = read_image(write_image(tmp_path / "out.png", pixels, alpha=alpha, bit_depth=16))
    assert photo.bit_depth == 16 and photo.pixels.shape == (H, W, channels)
    np.testing.assert_allclose(photo.pixels, quantised(pixels, 16), atol=1e-7)
    assert np.abs(photo.pixels - pixels).max() <= 0.5 / 65535 + 1e-7
    if with_alpha:
        np.testing.assert_allclose(photo.alpha, quantised(alpha, 16), atol=1e-7)


def test_png_16bit_gray_with_alpha_is_written_as_rgba(tmp_path):
    gray, alpha = random_image(1), random_alpha()
    photo = read_image(write_image(tmp_path / "out.png", gray, alpha=alpha, bit_depth=16))
    assert photo.pixels.shape == (H, W, 3)
    for channel in range(3):
        np.testing.assert_allclose(photo.pixels[..., channel], quantised(gray[..., 0], 16), atol=1e-7)
    np.testing.assert_allclose(photo.alpha, quantised(alpha, 16), atol=1e-7)


def test_hand_made_16bit_gray_alpha_png_reads_as_gray_plus_alpha(tmp_path):
    samples = np.random.default_rng(3).integers(0, 65536, (9, 13, 2), dtype=np.uint16)
    path = tmp_path / "la16.png"
    path.write_bytes(png_bytes(samples, color_type=4, bit_depth=16))
    photo = read_image(path)
    assert photo.pixels.shape == (9, 13, 1) and photo.bit_depth == 16
    np.testing.assert_array_equal(np.rint(photo.pixels[..., 0] * 65535), samples[..., 0])
    np.testing.assert_array_equal(np.rint(photo.alpha * 65535), samples[..., 1])
    info = probe_image(path)
    assert (info.channels, info.has_alpha, info.bit_depth) == (1, True, 16)


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("channels, with_alpha", [(1, False), (3, False), (1, True), (3, True)])
def test_tiff_integer_round_trip_is_exact(tmp_path, bits, channels, with_alpha):
    pixels, alpha = random_image(channels), random_alpha() if with_alpha else None
    photo = read_image(write_image(tmp_path / "out.tif", pixels, alpha=alpha, bit_depth=bits))
    assert (photo.format, photo.bit_depth) == ("tiff", bits)
    assert photo.pixels.shape == (H, W, channels)
    np.testing.assert_allclose(photo.pixels, quantised(pixels, bits), atol=1e-7)
    if with_alpha:
        np.testing.assert_allclose(photo.alpha, quantised(alpha, bits), atol=1e-7)
    else:
        assert photo.alpha is None


@pytest.mark.parametrize("channels", [1, 3])
def test_float_tiff_round_trip_is_bit_exact(tmp_path, channels):
    pixels = random_image(channels)
    photo = read_image(write_image(tmp_path / "out.tiff", pixels, bit_depth=32))
    assert photo.bit_depth == 32
    np.testing.assert_array_equal(photo.pixels, pixels)


def test_float_tiff_values_outside_unit_range_are_clipped_on_read(tmp_path):
    stored = np.array([[-0.5, 0.25, 1.5, np.nan, np.inf]], np.float32)
    tifffile.imwrite(tmp_path / "hdr.tif", stored, photometric="minisblack")
    photo = read_image(tmp_path / "hdr.tif")
    np.testing.assert_array_equal(photo.pixels[0, :, 0], [0.0, 0.25, 1.0, 0.0, 1.0])


def test_lzw_tiff_from_pillow_reads_without_imagecodecs(tmp_path):
    pixels = (random_image(3) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "lzw.tif", compression="tiff_lzw")
    photo = read_image(tmp_path / "lzw.tif")
    np.testing.assert_array_equal(np.rint(photo.pixels * 255), pixels)


# ---------------------------------------------------------------- lossy round trips


@pytest.mark.parametrize("channels", [1, 3])
def test_jpeg_round_trip_is_close(tmp_path, channels):
    pixels = smooth_image(channels)
    photo = read_image(write_image(tmp_path / "out.jpg", pixels, quality=95))
    assert (photo.format, photo.bit_depth, photo.pixels.shape) == ("jpeg", 8, (H, W, channels))
    assert psnr(photo.pixels, pixels) > 38


def test_jpeg_drops_alpha(tmp_path):
    photo = read_image(write_image(tmp_path / "out.jpeg", smooth_image(), alpha=random_alpha()))
    assert photo.alpha is None and photo.pixels.shape == (H, W, 3)


def test_webp_round_trip_keeps_alpha(tmp_path):
    pixels, alpha = smooth_image(), random_alpha()
    photo = read_image(write_image(tmp_path / "out.webp", pixels, alpha=alpha, quality=95))
    assert (photo.format, photo.bit_depth) == ("webp", 8)
    assert psnr(photo.pixels, pixels) > 35
    np.testing.assert_allclose(photo.alpha, quantised(alpha, 8), atol=1e-6)  # WebP alpha is lossless


def test_webp_stores_gray_as_rgb(tmp_path):
    gray = smooth_image(1)
    photo = read_image(write_image(tmp_path / "gray.webp", gray))
    assert photo.pixels.shape == (H, W, 3)
    assert psnr(photo.pixels, np.repeat(gray, 3, axis=2)) > 35


@pytest.mark.parametrize("bits, min_psnr", [(8, 38), (16, 45)])
def test_heic_round_trip(tmp_path, bits, min_psnr):
    pixels = smooth_image()
    photo = read_image(write_image(tmp_path / "out.heic", pixels, bit_depth=bits, quality=95))
    assert (photo.format, photo.bit_depth, photo.pixels.shape) == ("heif", bits, (H, W, 3))
    assert psnr(photo.pixels, pixels) > min_psnr


def test_heic_gray_and_alpha(tmp_path):
    gray = smooth_image(1)
    photo = read_image(write_image(tmp_path / "gray.heif", gray))
    assert photo.pixels.shape == (H, W, 1) and psnr(photo.pixels, gray) > 38
    alpha = np.tile(np.linspace(0, 1, W, dtype=np.float32), (H, 1))
    photo = read_image(write_image(tmp_path / "alpha.heic", smooth_image(), alpha=alpha))
    assert photo.alpha is not None and np.abs(photo.alpha - alpha).max() < 0.02


def test_heic_odd_size(tmp_path):
    pixels = smooth_image(height=31, width=45)
    photo = read_image(write_image(tmp_path / "odd.heic", pixels, quality=80))
    assert photo.pixels.shape == (31, 45, 3) and psnr(photo.pixels, pixels) > 33


# ---------------------------------------------------------------- bit depth choice


def test_sixteen_bit_input_gives_sixteen_bit_output_by_default(tmp_path):
    source = read_image(write_image(tmp_path / "in.png", random_image(), bit_depth=16))
    for name in ("out.png", "out.tif", "out.heic"):
        assert read_image(write_image(tmp_path / name, source.pixels, like=source)).bit_depth == 16
    assert read_image(write_image(tmp_path / "out.jpg", source.pixels, like=source)).bit_depth == 8
    exact = read_image(tmp_path / "out.tif")
    np.testing.assert_array_equal(exact.pixels, source.pixels)


def test_float_input_gives_float_tiff_and_sixteen_bit_png(tmp_path):
    source = read_image(write_image(tmp_path / "in.tif", random_image(), bit_depth=32))
    assert read_image(write_image(tmp_path / "out.tif", source.pixels, like=source)).bit_depth == 32
    assert read_image(write_image(tmp_path / "out.png", source.pixels, like=source)).bit_depth == 16


def test_eight_bit_is_the_default_without_like(tmp_path):
    assert read_image(write_image(tmp_path / "out.tif", random_image())).bit_depth == 8


@pytest.mark.parametrize("name, bits", [("a.jpg", 16), ("a.png", 32), ("a.webp", 16), ("a.tif", 12)])
def test_bit_depth_the_format_cannot_hold_is_refused(tmp_path, name, bits):
    with pytest.raises(BrightroomError, match=rf"'.*{name}'.*not {bits}-bit"):
        write_image(tmp_path / name, random_image(), bit_depth=bits)
    assert not (tmp_path / name).exists()


def test_writing_rounds_and_clips(tmp_path):
    pixels = np.array([[[-0.2], [0.5 / 255 + 1e-4], [0.5 / 255 - 1e-4], [1.3]]], np.float32)
    photo = read_image(write_image(tmp_path / "r.png", pixels))
    np.testing.assert_allclose(photo.pixels[0, :, 0] * 255, [0, 1, 0, 255], atol=1e-4)


# ---------------------------------------------------------------- detection by content


def test_jpeg_named_png_is_read_as_jpeg(tmp_path):
    write_image(tmp_path / "real.jpg", smooth_image())
    (tmp_path / "liar.png").write_bytes((tmp_path / "real.jpg").read_bytes())
    photo = read_image(tmp_path / "liar.png")
    assert photo.format == "jpeg" and photo.pixels.shape == (H, W, 3)


def test_palette_png_with_transparency_becomes_rgba(tmp_path):
    indices = np.arange(H * W, dtype=np.uint8).reshape(H, W) % 4
    image = Image.fromarray(indices, mode="P")
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])
    image.save(tmp_path / "pal.png", transparency=bytes([255, 128, 0, 255]))
    photo = read_image(tmp_path / "pal.png")
    assert photo.pixels.shape == (H, W, 3)
    np.testing.assert_array_equal(photo.pixels[0, 0], [1, 0, 0])
    np.testing.assert_array_equal(photo.pixels[0, 1], [0, 1, 0])
    np.testing.assert_allclose(photo.alpha[0, :4], [1, 128 / 255, 0, 1], atol=1e-6)


def test_gray_alpha_png_and_cmyk_jpeg(tmp_path):
    la = np.random.default_rng(4).integers(0, 256, (H, W, 2), dtype=np.uint8)
    Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
    photo = read_image(tmp_path / "la.png")
    assert photo.pixels.shape == (H, W, 1)
    np.testing.assert_array_equal(np.rint(photo.alpha * 255), la[..., 1])

    Image.new("CMYK", (W, H), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=95)  # pure red ink-wise
    photo = read_image(tmp_path / "cmyk.jpg")
    assert photo.pixels.shape == (H, W, 3) and photo.icc_profile is None
    np.testing.assert_allclose(photo.pixels.mean(axis=(0, 1)), [1, 0, 0], atol=0.03)


# ---------------------------------------------------------------- orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow_exif_transpose(tmp_path, orientation):
    stored = (random_image(3, 5, 7) * 255).astype(np.uint8)
    image = Image.fromarray(stored)
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(tmp_path / "o.png", exif=exif.tobytes())
    with Image.open(tmp_path / "o.png") as written:
        expected = np.asarray(ImageOps.exif_transpose(written))
    photo = read_image(tmp_path / "o.png")
    np.testing.assert_array_equal(np.rint(photo.pixels * 255).astype(np.uint8), expected)
    assert exif_of(photo)[0x0112] == 1
    info = probe_image(tmp_path / "o.png")
    assert (info.height, info.width) == expected.shape[:2]


def test_jpeg_with_orientation_6_is_rotated_and_reset(tmp_path):
    stored = asymmetric_image()
    Image.fromarray((stored * 255).astype(np.uint8)).save(tmp_path / "rot.jpg", quality=95, exif=camera_exif(6))
    photo = read_image(tmp_path / "rot.jpg")
    expected = np.rot90(stored, -1)  # orientation 6: turn 90 degrees clockwise to display
    assert photo.pixels.shape == expected.shape == (36, 24, 3)
    assert np.abs(photo.pixels - expected).mean() < 0.03
    exif = exif_of(photo)
    assert exif[0x0112] == 1 and exif[0x010F] == "Canon" and exif.get_ifd(0x8769)[0x8827] == 400

    info = probe_image(tmp_path / "rot.jpg")
    assert (info.width, info.height) == (24, 36)
    assert info.exif_summary["orientation"] == "Rotate 90 CW"
    assert info.exif_summary["make"] == "Canon" and info.exif_summary["iso"] == "400"

    # Written again, the already-rotated pixels must not be rotated a second time.
    again = read_image(write_image(tmp_path / "again.jpg", photo.pixels, like=photo))
    assert again.pixels.shape == (36, 24, 3) and exif_of(again)[0x0112] == 1


def test_sixteen_bit_png_orientation_is_applied_once(tmp_path):
    stored = np.random.default_rng(8).integers(0, 65536, (6, 10, 3), dtype=np.uint16)
    (tmp_path / "s8.png").write_bytes(png_bytes(stored, color_type=2, bit_depth=16, exif=camera_exif(8)))
    with Image.open(tmp_path / "s8.png") as check:
        assert check.getexif()[0x0112] == 8
    photo = read_image(tmp_path / "s8.png")
    assert photo.bit_depth == 16
    np.testing.assert_array_equal(np.rint(photo.pixels * 65535), np.rot90(stored, 1))


def test_tiff_orientation_tag_is_applied(tmp_path):
    stored = (random_image(3, 6, 10) * 65535).astype(np.uint16)
    tifffile.imwrite(tmp_path / "o.tif", stored, photometric="rgb", extratags=[(274, "H", 1, 3, True)])
    photo = read_image(tmp_path / "o.tif")
    np.testing.assert_array_equal(np.rint(photo.pixels * 65535), stored[::-1, ::-1])


# ---------------------------------------------------------------- metadata on write


@pytest.mark.parametrize("name, bits", [("m.jpg", 8), ("m.png", 8), ("m.png", 16), ("m.webp", 8),
                                        ("m.tif", 16), ("m.heic", 8)])  # fmt: skip
def test_exif_and_icc_are_written(tmp_path, name, bits):
    path = write_image(tmp_path / name, smooth_image(), bit_depth=bits, exif=camera_exif(6), icc_profile=SRGB_ICC)
    photo = read_image(path)
    assert photo.pixels.shape == (H, W, 3)  # orientation 6 was reset, not applied
    assert photo.icc_profile == SRGB_ICC
    exif = exif_of(photo)
    assert (exif[0x010F], exif[0x0110], exif[0x0112]) == ("Canon", "EOS R5", 1)
    assert exif.get_ifd(0x8769)[0x9003] == "2024:05:06 07:08:09"
    info = probe_image(path)
    assert info.exif_summary == {"make": "Canon", "model": "EOS R5", "date": "2024:05:06 07:08:09",
                                 "iso": "400", "orientation": "Horizontal (normal)"}  # fmt: skip
    assert "sRGB" in info.icc_profile_name


def test_like_supplies_alpha_exif_and_icc_and_empty_bytes_drop_them(tmp_path):
    alpha = random_alpha()
    source = read_image(
        write_image(tmp_path / "in.png", smooth_image(), alpha=alpha, exif=camera_exif(), icc_profile=SRGB_ICC)
    )
    kept = read_image(write_image(tmp_path / "kept.png", source.pixels, like=source))
    np.testing.assert_array_equal(kept.alpha, source.alpha)
    assert kept.icc_profile == SRGB_ICC and exif_of(kept)[0x0110] == "EOS R5"
    dropped = read_image(write_image(tmp_path / "dropped.png", source.pixels, like=source, exif=b"", icc_profile=b""))
    assert dropped.exif is None and dropped.icc_profile is None


def test_like_alpha_is_resized_and_pixel_dimensions_updated(tmp_path):
    exif = Image.Exif()
    exif.get_ifd(0x8769).update({0xA002: W, 0xA003: H})
    source = read_image(write_image(tmp_path / "in.png", smooth_image(), alpha=np.ones((H, W), np.float32) * 0.5,
                                    exif=exif.tobytes()))  # fmt: skip
    bigger = np.repeat(np.repeat(source.pixels, 2, axis=0), 2, axis=1)
    out = read_image(write_image(tmp_path / "x2.png", bigger, like=source))
    assert out.alpha.shape == (2 * H, 2 * W)
    np.testing.assert_allclose(out.alpha, 128 / 255, atol=1e-6)
    sub = exif_of(out).get_ifd(0x8769)
    assert (sub[0xA002], sub[0xA003]) == (2 * W, 2 * H)


def test_gray_image_does_not_get_an_rgb_icc_profile(tmp_path):
    photo = read_image(write_image(tmp_path / "g.jpg", smooth_image(1), icc_profile=SRGB_ICC))
    assert photo.icc_profile is None


def test_invalid_exif_bytes_are_refused(tmp_path):
    with pytest.raises(BrightroomError, match="not a readable EXIF block"):
        write_image(tmp_path / "e.jpg", smooth_image(), exif=b"certainly not exif")


# ---------------------------------------------------------------- DNG


def synthetic_bayer(height: int = 64, width: int = 96, seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).integers(600, 15000, (height, width), dtype=np.uint16)


@pytest.mark.parametrize("pattern", ["RGGB", "BGGR", "GRBG", "GBRG"])
def test_dng_reads_back_through_rawpy(tmp_path, pattern):
    bayer = synthetic_bayer()
    path = write_dng(tmp_path / "s.dng", bayer, cfa_pattern=pattern, black_level=512, white_level=16383)
    with rawpy.imread(str(path)) as raw:
        np.testing.assert_array_equal(raw.raw_image, bayer)
        colors = raw.color_desc.decode()
        assert "".join(colors[i] for i in raw.raw_pattern.ravel()) == pattern
        assert raw.black_level_per_channel == [512] * 4
        assert raw.white_level == 16383
        assert raw.num_colors == 3


def test_dng_per_position_black_levels_and_white_balance(tmp_path):
    path = write_dng(
        tmp_path / "b.dng", synthetic_bayer(), black_level=(500, 510, 520, 530), as_shot_neutral=(0.5, 1, 0.8)
    )
    with rawpy.imread(str(path)) as raw:
        assert sorted(raw.black_level_per_channel) == [500, 510, 520, 530]
        np.testing.assert_allclose(raw.camera_whitebalance[:3], [2.0, 1.0, 1.25], rtol=1e-3)


def test_dng_develops_a_neutral_gray_to_neutral_rgb(tmp_path):
    neutral = np.array([0.5, 1.0, 0.8])
    level = 4000.0
    bayer = np.empty((64, 96), np.uint16)  # RGGB mosaic of a gray card seen by this camera
    bayer[0::2, 0::2] = level * neutral[0]
    bayer[0::2, 1::2] = level * neutral[1]
    bayer[1::2, 0::2] = level * neutral[1]
    bayer[1::2, 1::2] = level * neutral[2]
    photo = read_image(write_dng(tmp_path / "gray.dng", bayer, as_shot_neutral=neutral))
    assert (photo.format, photo.bit_depth, photo.pixels.shape, photo.alpha) == ("raw", 16, (64, 96, 3), None)
    means = photo.pixels[8:-8, 8:-8].mean(axis=(0, 1))
    assert means.min() > 0.05
    np.testing.assert_allclose(means / means.mean(), 1.0, atol=0.02)


def test_dng_probe_and_read(tmp_path):
    path = write_dng(tmp_path / "p.dng", synthetic_bayer(), make="Acme", model="Sensor 1")
    info = probe_image(path)
    assert (info.format, info.width, info.height, info.channels, info.bit_depth) == ("raw", 96, 64, 3, 16)
    assert info.exif_summary["make"] == "Acme" and info.exif_summary["model"] == "Sensor 1"
    photo = read_image(path)
    assert photo.pixels.shape == (64, 96, 3) and photo.pixels.dtype == np.float32
    assert photo.pixels.min() >= 0 and photo.pixels.max() <= 1
    assert exif_of(photo)[0x010F] == "Acme"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"bayer": np.zeros((32, 32), np.float32)}, "integers"),
        ({"bayer": np.zeros((32, 32, 2), np.uint16)}, "H x W mosaic or H x W x 1|3 linear data"),
        ({"cfa_pattern": "RGXB"}, "cfa_pattern"),
        ({"black_level": 70000}, "black_level"),
        ({"black_level": 5000, "white_level": 4095}, "below white_level"),
        ({"color_matrix": np.eye(2)}, "color_matrix"),
        ({"as_shot_neutral": (1, 0, 1)}, "positive"),
    ],
)
def test_dng_bad_arguments(tmp_path, kwargs, message):
    arguments = {"bayer": synthetic_bayer(32, 32)} | kwargs
    with pytest.raises(BrightroomError, match=message):
        write_dng(tmp_path / "bad.dng", **arguments)
    assert folder_listing(tmp_path) == []


def test_dng_refuses_to_overwrite(tmp_path):
    path = write_dng(tmp_path / "d.dng", synthetic_bayer())
    before = path.read_bytes()
    with pytest.raises(BrightroomError, match="already exists"):
        write_dng(path, synthetic_bayer(seed=9))
    assert path.read_bytes() == before
    write_dng(path, synthetic_bayer(seed=9), overwrite=True)
    assert path.read_bytes() != before


# ---------------------------------------------------------------- bad input files


def test_missing_file(tmp_path):
    with pytest.raises(BrightroomError, match=r"cannot read '.*nothing\.png': no such file\."):
        read_image(tmp_path / "nothing.png")


def test_directory(tmp_path):
    (tmp_path / "album.jpg").mkdir()
    with pytest.raises(BrightroomError, match=r"'.*album\.jpg': it is a folder"):
        read_image(tmp_path / "album.jpg")


def test_empty_file(tmp_path):
    (tmp_path / "empty.png").touch()
    with pytest.raises(BrightroomError, match=r"'.*empty\.png': the file is empty\."):
        read_image(tmp_path / "empty.png")


@pytest.mark.parametrize("name, content", [("notes.txt", b"just some text\n" * 10),
                                           ("notes.png", b"just some text\n" * 10),
                                           ("noise.jpg", np.random.default_rng(6).bytes(4096))])  # fmt: skip
def test_files_that_are_not_images(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    expected = (
        rf"'.*{name}' is not an image Brightroom can read \(supported: PNG, JPEG, TIFF, WebP, HEIC/HEIF, RAW/DNG\)\."
    )
    with pytest.raises(BrightroomError, match=expected):
        read_image(tmp_path / name)
    with pytest.raises(BrightroomError, match=expected):
        probe_image(tmp_path / name)


@pytest.mark.parametrize("name, bits", [("t.png", 8), ("t16.png", 16), ("t.jpg", 8), ("t.tif", 16), ("t.webp", 8),
                                        ("t.heic", 8)])  # fmt: skip
def test_truncated_files(tmp_path, name, bits):
    full = write_image(tmp_path / f"full{Path(name).suffix}", random_image(), bit_depth=bits).read_bytes()
    (tmp_path / name).write_bytes(full[: len(full) // 2])
    with pytest.raises(BrightroomError, match=rf"cannot read '.*{name}': the file is truncated or corrupt\."):
        read_image(tmp_path / name)


def test_truncated_dng(tmp_path):
    full = write_dng(tmp_path / "full.dng", synthetic_bayer()).read_bytes()
    for name, kept in (("half.dng", len(full) // 2), ("header.dng", 200)):
        (tmp_path / name).write_bytes(full[:kept])
        with pytest.raises(BrightroomError, match=rf"cannot read '.*{name}': the (RAW )?file is truncated or corrupt"):
            read_image(tmp_path / name)


def test_valid_png_header_with_garbage_after_it(tmp_path):
    good = write_image(tmp_path / "good.png", random_image()).read_bytes()
    (tmp_path / "bad.png").write_bytes(good[:33] + np.random.default_rng(7).bytes(2000))
    with pytest.raises(BrightroomError, match="truncated or corrupt"):
        read_image(tmp_path / "bad.png")


def test_non_photo_tiffs_are_refused_clearly(tmp_path):
    tifffile.imwrite(tmp_path / "volume.tif", np.zeros((4, 8, 8), np.uint8), photometric="minisblack", volumetric=True)
    with pytest.raises(BrightroomError, match="volumetric"):
        read_image(tmp_path / "volume.tif")
    tifffile.imwrite(tmp_path / "signed.tif", np.zeros((8, 8), np.int32))
    with pytest.raises(BrightroomError, match="sample type"):
        read_image(tmp_path / "signed.tif")


# ---------------------------------------------------------------- the pixel limit


def test_huge_header_is_refused_before_decoding(tmp_path):
    tiny = np.zeros((2, 2), np.uint8)
    (tmp_path / "bomb.png").write_bytes(png_bytes(tiny, color_type=0, bit_depth=8, size=(60_000, 60_000)))
    message = (
        r"'.*bomb\.png' has 3600\.0 megapixels, over the limit of 100 MP "
        r"\(set BRIGHTROOM_MAX_PIXELS or max_pixels to raise it\)\."
    )
    with pytest.raises(BrightroomError, match=message):
        read_image(tmp_path / "bomb.png")
    with pytest.raises(BrightroomError, match=message):
        probe_image(tmp_path / "bomb.png")
    # Raised, the limit lets the decoder run, which then finds the data missing.
    with pytest.raises(BrightroomError, match="truncated or corrupt"):
        read_image(tmp_path / "bomb.png", max_pixels=4_000_000_000)


@pytest.mark.parametrize("name, bits", [("l.png", 8), ("l16.png", 16), ("l.jpg", 8), ("l.tif", 16), ("l.webp", 8),
                                        ("l.heic", 8)])  # fmt: skip
def test_limit_applies_to_every_format(tmp_path, name, bits):
    path = write_image(tmp_path / name, random_image(), bit_depth=bits)
    with pytest.raises(BrightroomError, match=r"has 0\.0031 megapixels, over the limit of 0\.003 MP"):
        read_image(path, max_pixels=3000)
    assert read_image(path, max_pixels=H * W).pixels.shape == (H, W, 3)


def test_limit_is_checked_before_any_decoder_runs(tmp_path, monkeypatch):
    png = write_image(tmp_path / "a.png", random_image())
    tif = write_image(tmp_path / "a.tif", random_image(), bit_depth=16)
    dng = write_dng(tmp_path / "a.dng", synthetic_bayer())

    def forbidden(*args, **kwargs):
        raise AssertionError("decoded before the limit check")

    real_rawpy = rawpy.RawPy

    class RawPyThatMustNotUnpack:  # rawpy's own class is immutable, so wrap it
        def __init__(self):
            self._raw = real_rawpy()

        def __getattr__(self, name):
            return forbidden if name == "unpack" else getattr(self._raw, name)

    monkeypatch.setattr(ImageFile.ImageFile, "load", forbidden)
    monkeypatch.setattr(tifffile.TiffPage, "asarray", forbidden)
    monkeypatch.setattr(rawpy, "RawPy", RawPyThatMustNotUnpack)
    for path in (png, tif, dng):
        with pytest.raises(BrightroomError, match="over the limit"):
            read_image(path, max_pixels=1000)
        assert probe_image(path).width in (W, 96)  # probing never decodes


def test_limit_from_environment(tmp_path, monkeypatch):
    path = write_image(tmp_path / "e.png", random_image())
    monkeypatch.setenv("BRIGHTROOM_MAX_PIXELS", "1000")
    with pytest.raises(BrightroomError, match=r"over the limit of 0\.001 MP"):
        read_image(path)
    assert read_image(path, max_pixels=10_000).pixels.shape == (H, W, 3)  # the argument wins
    monkeypatch.setenv("BRIGHTROOM_MAX_PIXELS", "lots")
    with pytest.raises(BrightroomError, match="BRIGHTROOM_MAX_PIXELS must be a whole number"):
        read_image(path)
    with pytest.raises(BrightroomError, match="max_pixels must be a positive"):
        read_image(path, max_pixels=0)


# ---------------------------------------------------------------- bad writes


def test_unsupported_output_suffix(tmp_path):
    with pytest.raises(
        BrightroomError, match=r"'.*out\.bmp': unknown output format \('\.bmp'\); use one of \.png, \.jpg"
    ):
        write_image(tmp_path / "out.bmp", random_image())
    with pytest.raises(BrightroomError, match="no suffix"):
        write_image(tmp_path / "out", random_image())
    assert folder_listing(tmp_path) == []


@pytest.mark.parametrize(
    "pixels, message",
    [
        (np.full((4, 4, 3), np.nan, np.float32), "NaN or infinite"),
        (np.full((4, 4, 3), np.inf, np.float32), "NaN or infinite"),
        (np.zeros((4, 4, 4), np.float32), r"C = 1 or 3 \(alpha goes in the alpha argument\), not \(4, 4, 4\)"),
        (np.zeros((4, 4, 2), np.float32), "C = 1 or 3"),
        (np.zeros((4,), np.float32), "C = 1 or 3"),
        (np.zeros((4, 4, 3), np.uint8), "float array with values in .0, 1., not uint8"),
        (np.zeros((0, 4, 3), np.float32), "empty"),
    ],
)
def test_bad_pixels_are_refused(tmp_path, pixels, message):
    with pytest.raises(BrightroomError, match=rf"cannot write '.*out\.png': .*{message}"):
        write_image(tmp_path / "out.png", pixels)
    assert folder_listing(tmp_path) == []


def test_bad_alpha_and_quality_are_refused(tmp_path):
    with pytest.raises(BrightroomError, match="alpha must be"):
        write_image(tmp_path / "a.png", random_image(), alpha=np.ones((3, 3), np.float32))
    with pytest.raises(BrightroomError, match="alpha contains NaN"):
        write_image(tmp_path / "a.png", random_image(), alpha=np.full((H, W), np.nan, np.float32))
    with pytest.raises(BrightroomError, match="quality must be"):
        write_image(tmp_path / "a.jpg", random_image(), quality=0)
    assert folder_listing(tmp_path) == []


def test_existing_output_is_not_overwritten_without_permission(tmp_path):
    path = write_image(tmp_path / "out.png", random_image(seed=1))
    before = path.read_bytes()
    with pytest.raises(BrightroomError, match=r"'.*out\.png' already exists; pass --overwrite"):
        write_image(path, random_image(seed=2))
    assert path.read_bytes() == before
    write_image(path, random_image(seed=2), overwrite=True)
    assert path.read_bytes() != before
    assert folder_listing(tmp_path) == ["out.png"]


def test_input_is_never_overwritten(tmp_path):
    source = read_image(write_image(tmp_path / "in.png", random_image()))
    before = source.path.read_bytes()
    with pytest.raises(BrightroomError, match=r"refusing to overwrite the input image '.*in\.png'"):
        write_image(tmp_path / "in.png", source.pixels * 0.5, like=source, overwrite=True)
    with pytest.raises(BrightroomError, match="refusing to overwrite the input"):
        write_image(tmp_path / "." / "in.png", source.pixels, like=source, overwrite=True)
    assert source.path.read_bytes() == before


def test_output_folder_must_exist(tmp_path):
    with pytest.raises(BrightroomError, match=r"the folder '.*missing' does not exist"):
        write_image(tmp_path / "missing" / "out.png", random_image())
    (tmp_path / "out.png").mkdir()
    with pytest.raises(BrightroomError, match="it is a folder"):
        write_image(tmp_path / "out.png", random_image(), overwrite=True)


@pytest.mark.parametrize("failing", ["os.fsync", "os.replace"])
def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch, failing):
    existing = write_image(tmp_path / "keep.tif", random_image())
    before = existing.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    module, name = failing.split(".")
    monkeypatch.setattr(f"brightroom.io.files.{module}.{name}", disk_full)
    with pytest.raises(BrightroomError, match=r"cannot write '.*new\.tif': no space left on device\."):
        write_image(tmp_path / "new.tif", random_image())
    with pytest.raises(BrightroomError, match="no space left"):
        write_image(existing, random_image(seed=3), overwrite=True)
    assert folder_listing(tmp_path) == ["keep.tif"]
    assert existing.read_bytes() == before


def test_encoder_failure_is_reported_and_leaves_nothing(tmp_path, monkeypatch):
    import brightroom.io.write as write_module

    def broken(output):
        raise RuntimeError("codec exploded")

    monkeypatch.setitem(write_module._ENCODERS, "webp", broken)
    with pytest.raises(BrightroomError, match=r"cannot write '.*x\.webp': the WebP encoder failed \(codec exploded\)"):
        write_image(tmp_path / "x.webp", random_image())
    assert folder_listing(tmp_path) == []


def test_written_file_has_ordinary_permissions(tmp_path):
    path = write_image(tmp_path / "p.png", random_image())
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# ---------------------------------------------------------------- probing


def test_probe_reports_the_header(tmp_path):
    info = probe_image(write_image(tmp_path / "p.png", random_image(), alpha=random_alpha(), bit_depth=16))
    assert (info.format, info.width, info.height, info.channels, info.has_alpha, info.bit_depth) == (
        "png", W, H, 3, True, 16,
    )  # fmt: skip
    assert info.exif_summary == {} and info.icc_profile_name is None
    info = probe_image(write_image(tmp_path / "f.tif", random_image(1), bit_depth=32))
    assert (info.format, info.channels, info.has_alpha, info.bit_depth) == ("tiff", 1, False, 32)
    info = probe_image(write_image(tmp_path / "h.heic", random_image(), bit_depth=16))
    assert (info.format, info.bit_depth, info.channels) == ("heif", 16, 3)


def test_exif_summary_formats_exposure_and_lens(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "NIKON CORPORATION"
    sub = exif.get_ifd(0x8769)
    sub.update({0x829A: 1 / 250, 0x829D: 2.8, 0x920A: 35.0, 0x8827: 100})
    info = probe_image(write_image(tmp_path / "e.jpg", smooth_image(), exif=exif.tobytes()))
    summary = info.exif_summary
    assert summary["exposure"] == "1/250 s" and summary["f_number"] == "f/2.8"
    assert summary["focal_length"] == "35 mm" and summary["iso"] == "100"
    assert summary["make"] == "NIKON CORPORATION"


def test_photo_repr_is_short():
    photo = Photo(np.zeros((2, 3, 3), np.float32), np.ones((2, 3), np.float32), 16, "tiff", None, None, Path("a.tif"))
    assert repr(photo) == "Photo(3x2 RGB, 16-bit tiff, alpha, path='a.tif')"


_XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
        b'xmp:Rating="4" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')
_IPTC = b"\x1c\x02\x00\x00\x02\x00\x04" + b"\x1c\x02\x05\x00\x05Title" + b"\x1c\x02\x19\x00\x04tree"


@pytest.mark.parametrize("name, depth, holds", [
    ("a.jpg", 8, {"xmp", "iptc", "dpi"}), ("a.png", 8, {"xmp", "iptc", "dpi"}), ("b.png", 16, {"xmp", "iptc", "dpi"}),
    ("a.tif", 8, {"xmp", "iptc", "dpi"}), ("b.tif", 16, {"xmp", "iptc", "dpi"}), ("a.webp", 8, {"xmp"}),
    ("a.heic", 8, {"xmp"}),
])
def test_xmp_iptc_and_dpi_survive_a_round_trip_where_the_format_holds_them(tmp_path, name, depth, holds):
    pixels = np.random.default_rng(0).random((40, 48, 3)).astype(np.float32)
    source = Photo(pixels, None, 8, "png", None, None, None, _XMP, _IPTC, (300.0, 300.0))
    back = read_image(write_image(tmp_path / name, pixels, like=source, bit_depth=depth))
    assert (back.xmp is not None and b'xmp:Rating="4"' in back.xmp) == ("xmp" in holds)
    if "xmp" in holds:  # the pixels are upright: the XMP orientation says so too
        assert b'tiff:Orientation="1"' in back.xmp
    assert (back.iptc == _IPTC) == ("iptc" in holds)
    assert (back.dpi == (300.0, 300.0)) == ("dpi" in holds)


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
@pytest.mark.parametrize("depth", [8, 16])
def test_exiftool_reads_the_iptc_of_a_written_png(tmp_path, depth):
    import subprocess

    pixels = np.random.default_rng(0).random((40, 48, 3)).astype(np.float32)
    source = Photo(pixels, None, 8, "png", None, None, None, None, _IPTC, None)
    path = write_image(tmp_path / "a.png", pixels, like=source, bit_depth=depth)
    tags = subprocess.run(["exiftool", "-s", "-IPTC:all", str(path)], capture_output=True, text=True).stdout
    assert "ObjectName" in tags and "Title" in tags and "Keywords" in tags and "tree" in tags


def test_a_jpegs_metadata_reaches_the_enhanced_result(tmp_path):
    from brightroom.pipeline import Recipe, process_photo

    pixels = np.random.default_rng(1).random((64, 64, 3)).astype(np.float32)
    source = write_image(tmp_path / "in.jpg", pixels, like=Photo(pixels, None, 8, "jpeg", None, None, None, _XMP,
                                                                 _IPTC, (72.0, 72.0)))
    result = process_photo(source, tmp_path / "out.jpg", Recipe("off", upscale=2))
    back = read_image(result.output)
    assert back.iptc == _IPTC and back.dpi == (72.0, 72.0) and b"xmp:Rating" in back.xmp


@pytest.mark.parametrize("tag", [256, 257])  # ImageWidth, ImageLength
def test_a_tiff_whose_header_says_zero_pixels_is_refused_in_one_sentence(tmp_path, tag):
    import io
    import struct

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((8, 8, 3), np.uint8), photometric="rgb", byteorder="<")
    data = bytearray(buffer.getvalue())
    first = struct.unpack_from("<I", data, 4)[0]
    for index in range(struct.unpack_from("<H", data, first)[0]):
        entry = first + 2 + 12 * index
        code, kind = struct.unpack_from("<HH", data, entry)
        if code == tag:
            struct.pack_into("<H" if kind == 3 else "<I", data, entry + 8, 0)
    path = tmp_path / "empty.tif"
    path.write_bytes(bytes(data))
    for reader in (read_image, probe_image):
        with pytest.raises(BrightroomError, match="its header says it is 0 x 8 pixels|8 x 0 pixels"):
            reader(path)


def test_a_tiffs_array_description_is_not_carried_but_a_written_one_is(tmp_path):
    tifffile.imwrite(tmp_path / "shape.tif", np.zeros((16, 16, 3), np.uint8), photometric="rgb")
    tifffile.imwrite(tmp_path / "words.tif", np.zeros((16, 16, 3), np.uint8), photometric="rgb",
                     description="A sunset", metadata=None)
    for name, expected in (("shape", None), ("words", "A sunset")):
        out = write_image(tmp_path / f"{name}-x2.tif", np.zeros((32, 32, 3), np.float32),
                          like=read_image(tmp_path / f"{name}.tif"))
        with tifffile.TiffFile(out) as tiff:
            tag = tiff.pages.first.tags.get(270)
            assert (tag.value if tag is not None else None) == expected


def test_a_jpeg_whose_header_claims_far_more_pixels_than_its_bytes_hold_is_refused_unread(tmp_path):
    import io
    import struct

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(buffer, "JPEG", quality=50)
    data = bytearray(buffer.getvalue())
    frame = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, frame + 5, 7070, 7070)  # a 7070 x 7070 frame in about 600 bytes
    (tmp_path / "lie.jpg").write_bytes(bytes(data))
    for reader in (read_image, probe_image):
        with pytest.raises(BrightroomError, match="says it is 7070 x 7070 pixels but holds only"):
            reader(tmp_path / "lie.jpg")
    # the flattest honest JPEG (one gray level, optimised tables) has about 255 pixels a byte: read
    Image.new("L", (2000, 2000)).save(tmp_path / "flat.jpg", quality=1, optimize=True)
    assert read_image(tmp_path / "flat.jpg").pixels.shape == (2000, 2000, 1)


@pytest.mark.parametrize("quality", [5, 37, 75, 95])
def test_a_jpegs_quality_is_read_from_its_tables_whoever_wrote_it(tmp_path, quality):
    import cv2

    pixels = np.random.default_rng(quality).random((32, 48, 3)).astype(np.float32)
    ours = write_image(tmp_path / "ours.jpg", pixels, quality=quality)
    cv2.imwrite(str(tmp_path / "opencv.jpg"), np.round(pixels * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert probe_image(ours).jpeg_quality == quality
    assert probe_image(tmp_path / "opencv.jpg").jpeg_quality == quality
    assert probe_image(write_image(tmp_path / "not.png", pixels)).jpeg_quality is None
