"""The ``brightroom`` command: a thin shell over the Python API.

Every user mistake ends in one line on stderr and exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
from pathlib import Path

from .errors import BrightroomError

EXIT_USER_ERROR = 2


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def _output(args, sources: list[Path], tag: str) -> Path:
    """The output path: ``-o``, else named after the first input; checked before any work."""
    from .pipeline import check_target, output_name

    output = Path(args.output) if args.output else output_name(sources[0], tag)
    check_target(output, sources, overwrite=args.overwrite)
    return output


def _process(args, tag: str, recipe) -> None:
    """Read, run a recipe, write: denoise, upscale and enhance, through the one per-photo path."""
    from .pipeline import process_photo

    source = Path(args.input)
    output = _output(args, [source], tag)
    with _tile_progress_bar():
        result = process_photo(source, output, recipe, overwrite=args.overwrite,
                               progress=lambda text: _say(f"{text}..."))
    _say(result.message)
    print(result.output)


@contextlib.contextmanager
def _tile_progress_bar():
    """A progress bar over the tiles of a large photo, on a terminal only (quiet when piped)."""
    if not sys.stderr.isatty():
        yield
        return
    from tqdm import tqdm

    from .nn.inference import TILE_PROGRESS

    bars: list = []

    def report(done: int, total: int) -> None:
        if not bars or bars[-1].total != total or bars[-1].n >= total:
            bars.append(tqdm(total=total, unit="tile", leave=False, dynamic_ncols=True))
        bars[-1].update(done - bars[-1].n)

    token = TILE_PROGRESS.set(report)
    try:
        yield
    finally:
        TILE_PROGRESS.reset(token)
        for bar in bars:
            bar.close()


def cmd_info(args) -> None:
    import numpy as np

    from .io import probe_image, read_image
    from .metrics import estimate_noise_sigma
    from .nn.zoo import find_model
    from .tasks.denoise import REAL_METHOD, estimate_noise

    info = probe_image(args.image)
    kind = "gray" if info.channels == 1 else "RGB"
    lines = [
        _info_line("file", info.path),
        _info_line("format", info.format),
        _info_line("size", f"{info.width} x {info.height} ({info.width * info.height / 1e6:.1f} MP)"),
        _info_line("mode", f"{kind}{' + alpha' if info.has_alpha else ''}, {info.bit_depth}-bit"),
        _info_line("ICC profile", info.icc_profile_name or "none"),
    ]
    if info.jpeg_quality is not None:
        lines.append(_info_line("JPEG quality", f"{info.jpeg_quality} (the libjpeg quality nearest its quantisation tables)"))
    summary = dict(info.exif_summary)
    if info.format == "raw":
        from .io.raw import raw_summary

        summary |= raw_summary(args.image)
    lines += [_info_line(_INFO_LABELS.get(key, key.replace("_", " ")), value) for key, value in summary.items()]
    print("\n".join(lines), flush=True)  # what the header says, even if the pixels then fail to decode
    lines = []
    if info.format == "raw":
        lines.append(_info_line("raw noise", _raw_noise_line(args.image)))
    pixels = read_image(args.image).pixels
    tiles = _sample_tiles(pixels)
    sigma = float(np.median([estimate_noise_sigma(tile) for tile in tiles]))
    lines.append(_info_line("noise sigma", f"{sigma:.1f} (white-noise estimate, 0-255 scale)"))
    if find_model("denoise", REAL_METHOD).shipped and min(pixels.shape[:2]) >= 8:
        readings = [estimate_noise(tile) for tile in tiles]
        luma, color = (float(np.median([getattr(r, part) for r in readings])) for part in ("luma", "color"))
        lines.append(_info_line("noise", f"luminance {luma:.1f}, colour {color:.1f} (the real-photo model's estimate, "
                                         "0-255 scale)"))
    if find_model("jpeg", "brightroom").shipped and info.format != "raw" and min(pixels.shape[:2]) >= 8:
        from .pipeline import jpeg_quality_of

        reading = jpeg_quality_of(tiles[0])
        lines.append(_info_line("JPEG look", f"quality {reading.value} ({reading.source}; 100: no compression)"))
    print("\n".join(lines))


_INFO_LABELS = {"iso": "ISO", "f_number": "f-number"}


def _info_line(label: str, value) -> str:
    """One line of ``info``: the label and its colon in a column, then the value.

    >>> _info_line("focal length", "65 mm")
    'focal length: 65 mm'
    """
    return f"{label + ':':<13} {value}"


def _sample_tiles(pixels, tile: int = 512, count: int = 4):
    """The photo itself up to 4 MP; above, ``count`` x ``count`` tiles spread evenly over it: the
    noise reads the same, at a bounded cost in time and memory (a 100 MP photo in seconds)."""
    height, width = pixels.shape[:2]
    if height * width <= (tile * count) ** 2:
        return [pixels]
    rows = [round(i * (height - tile) / (count - 1)) for i in range(count)] if height > tile else [0]
    cols = [round(i * (width - tile) / (count - 1)) for i in range(count)] if width > tile else [0]
    return [pixels[top: top + tile, left: left + tile] for top in rows for left in cols]


def _raw_noise_line(path: str) -> str:
    """The RAW's own noise profile for ``info``, per CFA plane; or why there is none."""
    from .camera.noise import raw_noise_profile
    from .io.raw import read_raw

    raw = read_raw(path)
    if not raw.is_bayer:
        return "not measured (the data is not a Bayer mosaic)"
    profile = raw_noise_profile(raw)
    planes = ", ".join(f"{name} {a:.3g}/{b:.3g}" for name, a, b in zip(("R", "G1", "G2", "B"), profile.a, profile.b))
    return f"{profile.describe()}; a/b per plane: {planes} (variance = a * signal + b, 0-1 raw scale)"


def _strength(args):
    """A Strength from --strength, --luma-strength and --color-strength, or None when none is given."""
    from .tasks.denoise import Strength

    given = {"overall": args.strength, "luma": args.luma_strength, "color": args.color_strength}
    given = {key: value for key, value in given.items() if value is not None}
    return Strength(**given) if given else None


def _denoise_method(args) -> str | None:
    """--method, or the user's own checkpoint given with --weights (a 'weights:PATH' method)."""
    from .tasks import FOREIGN_PREFIX

    if args.weights and args.method:
        raise BrightroomError("give --method or --weights, not both.")
    return f"{FOREIGN_PREFIX}{args.weights}" if args.weights else args.method


def cmd_denoise(args) -> None:
    from .pipeline import Recipe

    _process(args, "denoised", Recipe("denoise", sigma=args.sigma, method=_denoise_method(args),
                                      strength=_strength(args), raw_denoise=args.raw_denoise, jpeg=args.jpeg))


def cmd_deblock(args) -> None:
    from .pipeline import Recipe
    from .tasks.jpeg import parse_jpeg_quality

    quality = parse_jpeg_quality(args.quality)
    _process(args, "deblocked", Recipe("off", jpeg="on" if quality is None else quality,
                                       jpeg_strength=args.strength, raw_denoise=args.raw_denoise))


def cmd_upscale(args) -> None:
    from .pipeline import Recipe, best_upscale_method

    if args.weights:
        _upscale_with_weights(args)
        return
    method = args.method or best_upscale_method(args.model)
    recipe = Recipe("off", upscale=args.scale, upscale_method=method, raw_denoise=args.raw_denoise)
    _process(args, f"x{recipe.upscale}", recipe)


def _upscale_with_weights(args) -> None:
    """A user's own checkpoint of a public architecture, through spandrel."""
    from .image import check_image
    from .io import read_image, write_image
    from .nn.foreign import load_foreign_upscaler, upscale_with_foreign
    from .tasks.super_resolve import check_scale

    scale = check_scale(args.scale)
    source = Path(args.input)
    output = _output(args, [source], f"x{scale}")
    model = load_foreign_upscaler(args.weights)
    photo = read_image(source)
    pixels = upscale_with_foreign(model, check_image(photo.pixels), scale)
    print(write_image(output, pixels.clip(0, 1), like=photo, overwrite=args.overwrite))


def cmd_enhance(args) -> None:
    from .pipeline import Recipe

    _process(args, "enhanced", Recipe("auto", upscale=args.upscale, method=_denoise_method(args),
                                      strength=_strength(args), raw_denoise=args.raw_denoise, jpeg=args.jpeg))


def _write_camera_result(args, output: Path, pixels, source: Path) -> None:
    """Camera results keep their precision (16-bit where the output format holds it) and the first
    source's EXIF (camera, lens, exposure, date, GPS; orientation 1, the pixels being turned), with
    an sRGB ICC profile, which they are by construction."""
    from .io import read_metadata, write_image
    from .io.formats import output_format
    from .io.metadata import srgb_profile

    depth = 16 if 16 in output_format(output).write_bit_depths else None
    exif = read_metadata(source)[0] if source.exists() else None
    print(write_image(output, pixels, bit_depth=depth, exif=exif or b"", icc_profile=srgb_profile(),
                      overwrite=args.overwrite))


def cmd_develop(args) -> None:
    from .io import read_metadata
    from .io.raw import write_raw_dng
    from .pipeline import check_target, develop_photo, read_raw_photo
    from .tasks.denoise_raw import parse_noise_profile, parse_raw_denoise

    source = Path(args.input)
    parse_raw_denoise(args.denoise)
    profile = parse_noise_profile(args.noise_profile) if args.noise_profile else None
    if args.output and Path(args.output).suffix.lower() == ".dng":
        # a DNG out: the (denoised) sensor data with the camera's metadata, for the user's own raw converter
        output = Path(args.output)
        check_target(output, [source], overwrite=args.overwrite, dng=True)
        with _tile_progress_bar():
            taken = read_raw_photo(source, denoise=args.denoise, profile=profile)
        print(write_raw_dng(output, taken.raw, exif=read_metadata(source)[0], overwrite=args.overwrite))
        hint = "" if taken.raw.is_bayer else "; developed to an image instead, it is denoised after development"
        _say(f"{taken.message}; written as DNG{hint}.")
        return
    output = _output(args, [source], "developed")
    with _tile_progress_bar():
        developed = develop_photo(
            source, denoise=args.denoise, profile=profile, demosaic_method=args.demosaic,
            white_balance=_white_balance(args.white_balance), exposure=args.exposure,
            tone_curve_strength=args.tone_curve, local_tone=args.local_tone, highlights=args.highlights)
    _write_camera_result(args, output, developed.pixels, source)
    _say(f"{developed.message}.")


def _white_balance(text: str):
    if "," not in text:
        return text  # a mode or a colour temperature (5500K, 5500K+10): develop checks it
    gains = _parse_list(text, float, "white-balance")
    if len(gains) != 3 or min(gains) <= 0:
        raise BrightroomError(f"--white-balance takes auto, as-shot, gray-world or three positive gains R,G,B, not '{text}'.")
    return tuple(gains)


def cmd_burst(args) -> None:
    from .camera import merge_burst, merge_raw_burst
    from .io.formats import RAW_SUFFIXES
    from .pipeline import burst_denoiser, raw_burst_denoiser

    sources = [Path(frame) for frame in args.frames]
    output = _output(args, sources, "merged")
    if all(source.suffix.lower() in RAW_SUFFIXES for source in sources):
        pixels = merge_raw_burst(sources, reference=args.reference, robustness=args.robustness,
                                 denoiser=raw_burst_denoiser(args.denoise))
    else:
        denoiser = None if args.no_unmerged_denoise else burst_denoiser(3)
        pixels = merge_burst(sources, reference=args.reference, noise_sigma=args.noise_sigma,
                             robustness=args.robustness, denoiser=denoiser)
    _write_camera_result(args, output, pixels, sources[0])


def cmd_hdr(args) -> None:
    from .camera import fuse_exposures, merge_hdr

    sources = [Path(frame) for frame in args.frames]
    output = _output(args, sources, "hdr")
    if args.times:
        times = _parse_list(args.times, float, "times")
        pixels = merge_hdr(sources, times, tone_mapping=args.tone_mapping, response=args.response, align=args.align)
    else:
        pixels = fuse_exposures(sources, align=args.align)
    _write_camera_result(args, output, pixels, sources[0])


def cmd_methods(args) -> None:
    from .tasks import methods, task_names

    rows = [(task, name, method.summary) for task in task_names() for name, method in sorted(methods(task).items())]
    width = max(len(name) for _, name, _ in rows)
    for task, name, summary in rows:
        print(f"{task:<8} {name:<{width}}  {summary}")


def cmd_models(args) -> None:
    from .nn.zoo import describe_models

    for model in describe_models():
        if model["shipped"] != "True":
            print(f"{model['name']:<14} {model['task']:<8} {model['method']:<16} not shipped in this installation")
            continue
        trained = f"{model.get('steps', '?')} steps, {int(model.get('train_seconds', 0)) / 3600:.1f} h"
        int8 = "int8 ranges" if model["int8"] == "True" else "float only "
        print(f"{model['name']:<14} {model['task']:<8} {model['method']:<16} {model['architecture']:<18} "
              f"{int(model['parameters']):>9,} parameters  {model['megabytes']:>4} MB  {trained}  {int8}  card: {model['card']}")


def _parse_list(text: str, kind, what: str) -> list:
    try:
        values = [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise BrightroomError(f"--{what} takes a comma-separated list, not '{text}'.") from None
    if not values:
        raise BrightroomError(f"--{what} is empty.")
    return values


def _parse_method_limits(items: list[str]) -> dict[str, int]:
    limits = {}
    for item in items or []:
        name, _, count = item.partition("=")
        if not count.isdigit() or int(count) < 1:
            raise BrightroomError(f"--limit-method takes METHOD=N with N at least 1, not '{item}'.")
        limits[name] = int(count)
    return limits


def cmd_bench(args) -> None:
    from .bench.runner import run_benchmark

    if args.limit is not None and args.limit < 1:
        raise BrightroomError("--limit must be at least 1.")
    if args.megapixels:
        from .bench.speed import run_speed_benchmark

        if args.task not in ("denoise", "sr", "burst", "develop", "jpeg"):
            raise BrightroomError(f"--megapixels applies to the denoise, sr, burst, develop and jpeg tasks, "
                                  f"not {args.task}.")
        setting = {"denoise": args.sigmas, "sr": args.scales, "burst": args.sigmas, "develop": "0",
                   "jpeg": args.qualities}[args.task]
        default = {"denoise": "brightroom", "sr": "bicubic", "burst": "merge", "develop": "rcd",
                   "jpeg": "brightroom"}[args.task]
        rows = run_speed_benchmark(args.task, _parse_list(args.methods or default, str, "methods"),
                                   _parse_list(args.megapixels, float, "megapixels"),
                                   setting=_parse_list(setting, float, "sigmas/scales")[0],
                                   frames=_parse_list(args.frames, int, "frames")[0])
        _report(args, rows)
        return
    if not args.datasets:
        raise BrightroomError("--datasets is needed (or --megapixels for a speed run).")
    if args.task == "demosaic":
        from .bench.demosaic import DEFAULT_METHODS, run_demosaic_benchmark

        methods = _parse_list(args.methods, str, "methods") if args.methods else DEFAULT_METHODS
        _report(args, run_demosaic_benchmark(_parse_list(args.datasets, str, "datasets"), methods, limit=args.limit,
                                             show_progress=not args.quiet))
        return
    if args.task == "real":
        from .bench.real import DEFAULT_METHODS, run_real_benchmark

        methods = _parse_list(args.methods, str, "methods") if args.methods else DEFAULT_METHODS
        _report(args, run_real_benchmark(_parse_list(args.datasets, str, "datasets"), methods, limit=args.limit,
                                         show_progress=not args.quiet))
        return
    if args.task == "jpeg":
        from .bench.jpeg import DEFAULT_METHODS, run_jpeg_benchmark

        methods = _parse_list(args.methods, str, "methods") if args.methods else DEFAULT_METHODS
        _report(args, run_jpeg_benchmark(_parse_list(args.datasets, str, "datasets"),
                                         _parse_list(args.qualities, int, "qualities"), methods, gray=args.gray,
                                         first_quality=args.first_quality, limit=args.limit,
                                         show_progress=not args.quiet))
        return
    if args.task == "raw-burst":
        from .bench.raw import run_raw_burst_benchmark

        _report(args, run_raw_burst_benchmark(_parse_list(args.datasets, str, "datasets"),
                                              _parse_list(args.frames, int, "frames")[0], limit=args.limit,
                                              show_progress=not args.quiet))
        return
    if args.task == "raw":
        from .bench.raw import DEFAULT_METHODS, run_raw_benchmark

        methods = _parse_list(args.methods, str, "methods") if args.methods else DEFAULT_METHODS
        _report(args, run_raw_benchmark(_parse_list(args.datasets, str, "datasets"), methods, limit=args.limit,
                                        method_limits=_parse_method_limits(args.limit_method),
                                        show_progress=not args.quiet))
        return
    if args.task == "burst":
        from .bench.burst import run_burst_benchmark

        rows = run_burst_benchmark(_parse_list(args.datasets, str, "datasets"), _parse_list(args.frames, int, "frames"),
                                   limit=args.limit, show_progress=not args.quiet)
        _report(args, rows)
        return
    if args.task == "denoise":
        settings = _parse_list(args.sigmas, float, "sigmas")
        default_methods = "nlm,bm3d"
    else:
        settings = _parse_list(args.scales, int, "scales")
        default_methods = "bicubic,lanczos"
    rows = run_benchmark(
        args.task,
        _parse_list(args.datasets, str, "datasets"),
        _parse_list(args.methods or default_methods, str, "methods"),
        settings,
        limit=args.limit,
        method_limits=_parse_method_limits(args.limit_method),
        show_progress=not args.quiet,
    )
    _report(args, rows)


def _report(args, rows: list[dict]) -> None:
    from .bench.report import markdown_section, markdown_table, update_report, write_json

    command = shlex.join(["brightroom", *sys.argv[1:]])
    if args.json:
        write_json(rows, args.json)
    if args.report:
        update_report(args.report, args.section or args.task, args.title or args.section or args.task,
                      markdown_section(rows, command))
    print(markdown_section(rows, command) if args.markdown else markdown_table(rows))


def cmd_train(args) -> None:
    from .train import run_training

    if args.max_steps is not None and args.max_steps < 1:
        raise BrightroomError("--max-steps must be at least 1.")
    run_training(args.task, args.config, resume=args.resume, max_steps=args.max_steps, progress=_say)


def cmd_calibrate(args) -> None:
    from .train.calibrate import calibrate

    for name in args.models:
        print(calibrate(name, progress=_say))


def cmd_export(args) -> None:
    from .io.files import check_output_path
    from .nn.export import export_onnx

    check_output_path(Path(args.output), overwrite=args.overwrite)  # before the export's work
    scale = int(args.scale) if args.scale else None
    print(export_onnx(args.model, args.output, scale=scale, int8=args.int8))


def cmd_serve(args) -> None:
    from .serve import run, settings_from_args

    run(args.host, args.port, settings_from_args(args))


def cmd_batch(args) -> None:
    from dataclasses import replace

    from .batch import run_batch
    from .pipeline import parse_recipe

    recipe = replace(parse_recipe(args.recipe), raw_denoise=args.raw_denoise)
    if args.jpeg is not None:
        recipe = replace(recipe, jpeg=args.jpeg)
    if args.weights:
        recipe = _with_weights(recipe, args.weights)
    summary = run_batch(args.in_dir, args.out_dir, recipe, engine=args.engine, address=args.address,
                        workers=args.workers, progress=not args.quiet, output_format=args.format,
                        overwrite=args.overwrite)
    print(summary.report())
    if not summary.ok:
        raise BrightroomError(f"{len(summary.failed)} of {len(summary.outcomes)} photos failed (listed above).")


def _with_weights(recipe, path: str):
    """The recipe with the user's own checkpoint as its denoiser or its upscaler (whichever it holds)."""
    from dataclasses import replace

    from .nn.foreign import is_upscaler
    from .tasks import FOREIGN_PREFIX

    if is_upscaler(path):
        if not recipe.upscale:
            raise BrightroomError(f"'{path}' holds an upscaler; give a recipe that upscales (e.g. upscale2).")
        return replace(recipe, upscale_method=f"{FOREIGN_PREFIX}{path}")
    if recipe.enhance == "off":
        raise BrightroomError(f"'{path}' holds a denoiser; give a recipe that denoises (auto or denoise).")
    return replace(recipe, method=f"{FOREIGN_PREFIX}{path}")


def cmd_demo(args) -> None:
    from .demo import run_demo

    run_demo(args.output_dir)


def build_parser() -> argparse.ArgumentParser:
    from .nn.zoo import upscale_kinds

    parser = argparse.ArgumentParser(
        prog="brightroom",
        description="Brightroom: clean and sharpen photos on an ordinary CPU.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(handler=handler)
        return command

    def add_io(command: argparse.ArgumentParser) -> None:
        command.add_argument("input", help="the photo to process")
        command.add_argument("-o", "--output", help="where to write the result (default: next to the input)")
        command.add_argument("--overwrite", action="store_true", help="replace an existing output file")
        command.add_argument("--raw-denoise", default="auto", metavar="auto|off|STRENGTH",
                             help="a RAW input: denoising of its sensor data before development (default auto: the "
                                  "noise profile measured from the file)")

    def add_strength(command: argparse.ArgumentParser) -> None:
        group = command.add_argument_group("strength of the real-photo model (0 = untouched, 1 = its own estimate, "
                                           "up to 4 = stronger)")
        group.add_argument("--strength", help="overall strength (default 1)")
        group.add_argument("--luma-strength", help="luminance noise, times the overall strength (default 1)")
        group.add_argument("--color-strength", help="colour noise, times the overall strength (default 1)")

    info = add("info", cmd_info, "describe an image: size, mode, bit depth, EXIF, estimated noise")
    info.add_argument("image")

    den = add("denoise", cmd_denoise, "remove noise from a photo")
    add_io(den)
    den.add_argument("--sigma", default="auto", help="noise level on the 0-255 scale, or 'auto' (default)")
    den.add_argument("--method", default=None, help="denoising method (default: the real-photo model for 'auto', "
                                                    "the AWGN model for a given sigma; see 'brightroom methods')")
    add_strength(den)
    den.add_argument("--weights", help="your own denoising checkpoint of a public architecture (DnCNN, SCUNet, ...), "
                                       "loaded with spandrel")

    jpeg_help = ("JPEG artifact removal: auto (when the photo shows them, default), on, off, or the quality "
                 "(1-100) it was saved at")
    den.add_argument("--jpeg", default="auto", help=jpeg_help)

    deb = add("deblock", cmd_deblock, "remove JPEG artifacts (blocks, ringing, banding) from a photo")
    add_io(deb)
    deb.add_argument("--quality", default="auto", help="the libjpeg quality (1-100) it was saved at, or 'auto' "
                                                        "(default: the file's tables or its pixels say)")
    deb.add_argument("--strength", default=1.0, help="0 leaves it, 1 follows the quality (default), up to 4 "
                                                     "treats the compression as that many times stronger")

    up = add("upscale", cmd_upscale, "enlarge a photo 2, 3 or 4 times")
    add_io(up)
    up.add_argument("--scale", required=True, help="2, 3 or 4")
    up.add_argument("--model", default="classic", choices=sorted(upscale_kinds()),
                    help="learned model: 'classic' for clean images, 'real' for real low-quality photos")
    up.add_argument("--method", default=None,
                    help="any super-resolution method instead (e.g. bicubic, lanczos; see 'brightroom methods')")
    up.add_argument("--weights", help="your own checkpoint of a public SR architecture (Real-ESRGAN, SwinIR, ...), "
                                      "loaded with spandrel")

    enh = add("enhance", cmd_enhance, "the automatic recipe: estimate the noise and remove it, optionally upscale")
    add_io(enh)
    enh.add_argument("--upscale", default=None, help="also enlarge 2, 3 or 4 times")
    add_strength(enh)
    enh.add_argument("--method", default=None, help="denoising method when the photo is noisy (see 'brightroom methods')")
    enh.add_argument("--weights", help="your own denoising checkpoint (spandrel) instead of Brightroom's model")
    enh.add_argument("--jpeg", default="auto", help=jpeg_help)

    develop = add("develop", cmd_develop, "develop a RAW/DNG file with Brightroom's own camera pipeline")
    develop.add_argument("input", help="the RAW or DNG file")
    develop.add_argument("-o", "--output", help="where to write (default: next to the input, 16-bit TIFF; "
                         "a .dng name writes the denoised sensor data with the camera's metadata instead)")
    develop.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    develop.add_argument("--demosaic", default="rcd", choices=["rcd", "mhc", "bilinear"],
                         help="demosaicking method (rcd: edge-directed, the default)")
    develop.add_argument("--white-balance", default="auto",
                         help="auto, as-shot, gray-world, a colour temperature with an optional tint (5500K, 3200K+10), "
                              "or gains R,G,B")
    develop.add_argument("--highlights", default="rolloff", choices=["rolloff", "clip"],
                         help="rolloff: bright areas compress smoothly to white, keeping their hue (default); clip")
    develop.add_argument("--exposure", type=float, default=0.0, help="exposure compensation in EV")
    develop.add_argument("--tone-curve", type=float, default=0.5, help="global tone curve strength, 0 to 1")
    develop.add_argument("--local-tone", type=float, default=0.25, help="local tone mapping strength, 0 to 1")
    develop.add_argument("--denoise", default="auto", metavar="auto|off|STRENGTH",
                         help="RAW denoising before demosaicking with the noise profile measured from the file: "
                              "auto (strength 1), off, or a strength from 0 to 4 (default: auto)")
    develop.add_argument("--noise-profile", metavar="A,B",
                         help="the sensor's noise instead of the measured one: variance = A * signal + B, on the 0-1 "
                              "raw scale (see 'brightroom info RAW')")

    burst = add("burst", cmd_burst, "align and merge a handheld burst (RAW frames are merged, then developed)")
    burst.add_argument("frames", nargs="+", help="two or more frames of the same size; the first is the reference")
    burst.add_argument("-o", "--output", required=True, help="where to write the merged photo")
    burst.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    burst.add_argument("--reference", type=int, default=0, help="index of the reference frame")
    burst.add_argument("--noise-sigma", type=float, help="noise level (0-255); default: measured from the burst")
    burst.add_argument("--robustness", type=float, default=1.0, help="motion rejection: higher rejects more")
    burst.add_argument("--denoise", default="auto", metavar="auto|off|STRENGTH",
                       help="RAW frames: denoise the merged mosaic before development with its measured noise "
                            "(auto: strength 1; off: the merge's own shrinkage only)")
    burst.add_argument("--no-unmerged-denoise", action="store_true",
                       help="no learned denoising after the merge (the merge's own Wiener shrinkage instead)")

    hdr = add("hdr", cmd_hdr, "merge bracketed exposures: exposure fusion, or a radiance merge with --times")
    hdr.add_argument("frames", nargs="+", help="two or more bracketed exposures of the same size")
    hdr.add_argument("-o", "--output", required=True, help="where to write the result")
    hdr.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    hdr.add_argument("--times", help="exposure times in seconds, comma-separated: radiance merge and tone mapping")
    hdr.add_argument("--tone-mapping", default="reinhard", choices=["reinhard", "drago", "mantiuk"])
    hdr.add_argument("--response", default="srgb", choices=["srgb", "calibrate"],
                     help="camera response: the sRGB curve, or calibrated from the frames")
    hdr.add_argument("--align", action="store_true", help="align the frames first (translation)")

    export = add("export", cmd_export, "write a zoo model as a self-contained ONNX file for onnxruntime alone")
    export.add_argument("model", help="a model of 'brightroom models', e.g. denoise-real")
    export.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    export.add_argument("--scale", help="super-resolution models: the scale to export (2, 3 or 4)")
    export.add_argument("--int8", action="store_true",
                        help="quantise to int8 (QDQ, calibrated on 16 training photos; faster on CPUs without bf16)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing file")

    calibrate = add("calibrate", cmd_calibrate,
                    "measure zoo models' int8 activation ranges on training photos (weights/NAME.int8.json)")
    calibrate.add_argument("models", nargs="+", help="models of 'brightroom models', e.g. denoise-color")

    add("methods", cmd_methods, "list the tasks and their methods")
    add("models", cmd_models, "list the shipped model weights and their training record")

    bench = add("bench", cmd_bench, "benchmark methods on standard datasets with the literature's protocol")
    bench.add_argument("--task", choices=["denoise", "sr", "burst", "real", "raw", "raw-burst", "jpeg", "demosaic", "develop"],
                       required=True,
                       help="real: folders of NAME_real / NAME_mean pairs (real camera noise), every method blind; "
                            "demosaic: clean images through an RGGB mosaic; develop: a RAW of --megapixels (speed)")
    bench.add_argument("--datasets", help="comma-separated set names or folders")
    bench.add_argument("--megapixels", help="instead of datasets: time one call on synthetic photos of these sizes "
                                            "(output MP), with peak memory, each in a fresh process")
    bench.add_argument("--methods", help="comma-separated methods (default: the classical baselines)")
    bench.add_argument("--sigmas", default="15,25,50", help="denoise: noise levels (0-255)")
    bench.add_argument("--scales", default="2,3,4", help="sr: scale factors")
    bench.add_argument("--frames", default="4,8", help="burst: frames per synthetic burst")
    bench.add_argument("--qualities", default="10,20,30,40", help="jpeg: libjpeg quality factors")
    bench.add_argument("--gray", action="store_true",
                       help="jpeg: test colour sets as gray (the Y of MATLAB's rgb2ycbcr, as the literature's LIVE1 gray)")
    bench.add_argument("--first-quality", type=int,
                       help="jpeg: re-saved crops: compress at this quality, crop 4 pixels, then at each --qualities")
    bench.add_argument("--limit", type=int, help="take the first N images of each set")
    bench.add_argument("--limit-method", action="append", metavar="METHOD=N",
                       help="run a slow method on only the first N images (repeatable)")
    bench.add_argument("--json", help="write the rows to this JSON file")
    bench.add_argument("--markdown", action="store_true", help="print the table with its command and machine")
    bench.add_argument("--report", help="update this Markdown report (e.g. BENCHMARKS.md) in place")
    bench.add_argument("--section", help="the report section to replace (default: the task)")
    bench.add_argument("--title", help="the section's heading")
    bench.add_argument("--quiet", action="store_true", help="no progress bar")

    train = add("train", cmd_train, "train a model from a config (see src/brightroom/train/configs)")
    train.add_argument("task", help="what to train, e.g. denoise")
    train.add_argument("--config", required=True, help="a TOML file or the name of a shipped config")
    train.add_argument("--resume", action="store_true", help="continue from the config's checkpoint")
    train.add_argument("--max-steps", type=int, help="stop after this many steps (for smoke runs)")

    from .serve.settings import add_serve_arguments

    serve = add("serve", cmd_serve, "start the web page and REST API (http://127.0.0.1:8000)")
    add_serve_arguments(serve)

    batch = add("batch", cmd_batch, "run one recipe over every photo in a folder (resumable)")
    batch.add_argument("in_dir")
    batch.add_argument("out_dir")
    batch.add_argument("--recipe", default="auto",
                       help="auto, denoise, deblock, upscale2, upscale3, upscale4, or e.g. auto+upscale2")
    batch.add_argument("--weights", help="your own checkpoint (spandrel: DnCNN, Real-ESRGAN, SwinIR...) as the "
                                         "recipe's denoiser or upscaler, whichever it holds")
    batch.add_argument("--jpeg", default=None, help="JPEG artifact removal: auto (with auto and denoise: when a photo "
                                                    "shows them), on, off, or a quality 1-100 (default: the recipe's)")
    batch.add_argument("--engine", choices=["local", "ray"], default="local")
    batch.add_argument("--raw-denoise", default="auto", metavar="auto|off|STRENGTH",
                       help="RAW inputs: denoising of their sensor data before development (default auto)")
    batch.add_argument("--address", help="a Ray cluster's address (with --engine ray); default: a local Ray")
    batch.add_argument("--workers", type=int, help="processes (local) or CPUs (ray); default: one per core")
    batch.add_argument("--format", help="output format: png, jpg, tif, webp, heic (default: the input's; RAW -> TIFF)")
    batch.add_argument("--overwrite", action="store_true",
                       help="replace files in the output folder that this batch did not write (its own outputs are "
                            "redone when the recipe or the source changed, and skipped otherwise)")
    batch.add_argument("--quiet", action="store_true", help="no progress bar")

    demo = add("demo", cmd_demo, "enhance a noisy sample photo (what 'make demo' runs)")
    demo.add_argument("--output-dir", default="demo-output")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except BrightroomError as error:
        print(f"brightroom: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("brightroom: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (`brightroom info x | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141
    except MemoryError:
        print("brightroom: error: not enough memory for this image.", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as error:  # a bug: one line for the user, the traceback on request
        if os.environ.get("BRIGHTROOM_DEBUG"):
            raise
        print(f"brightroom: internal error: {error.__class__.__name__}: {error} "
              "(set BRIGHTROOM_DEBUG=1 for details).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
