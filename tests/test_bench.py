import json
import os

import pytest

from brightroom.bench.report import machine_summary, markdown_table, update_report
from brightroom.bench.runner import run_benchmark
from brightroom.cli import main
from brightroom.errors import BrightroomError
from conftest import shared_set


def test_denoise_rows_have_the_protocol_fields(image_folder):
    rows = run_benchmark("denoise", [str(image_folder)], ["nlm", "bm3d"], [15, 50], show_progress=False)
    assert [(r["sigma"], r["method"]) for r in rows] == [(15, "nlm"), (15, "bm3d"), (50, "nlm"), (50, "bm3d")]
    for row in rows:
        assert set(row) >= {"task", "dataset", "method", "sigma", "images", "psnr", "ssim", "seconds",
                            "megapixels_per_second"}
        assert row["dataset"] == "tiny-set" and row["images"] == 3
        assert 15 < row["psnr"] < 60 and 0 < row["ssim"] <= 1 and row["megapixels_per_second"] > 0
    by_sigma = {r["sigma"]: r["psnr"] for r in rows if r["method"] == "bm3d"}
    assert by_sigma[15] > by_sigma[50] + 3


def test_limits_cap_images_overall_and_per_method(image_folder):
    rows = run_benchmark("denoise", [str(image_folder)], ["nlm", "bm3d"], [25], limit=2,
                         method_limits={"bm3d": 1}, show_progress=False)
    assert {r["method"]: r["images"] for r in rows} == {"nlm": 2, "bm3d": 1}


def test_every_method_sees_the_same_noisy_input(image_folder):
    first = run_benchmark("denoise", [str(image_folder)], ["nlm"], [25], show_progress=False)
    again = run_benchmark("denoise", [str(image_folder)], ["bm3d", "nlm"], [25], show_progress=False)
    assert first[0]["psnr"] == again[1]["psnr"]


def test_sr_rows(image_folder):
    rows = run_benchmark("sr", [str(image_folder)], ["bicubic", "lanczos"], [2, 4], show_progress=False)
    assert [(r["scale"], r["method"]) for r in rows] == [(2, "bicubic"), (2, "lanczos"), (4, "bicubic"), (4, "lanczos")]
    assert rows[0]["psnr"] > rows[2]["psnr"]


def test_unknown_dataset_task_and_method_are_clear_errors(image_folder):
    with pytest.raises(BrightroomError, match="no dataset 'NoSuchSet'"):
        run_benchmark("sr", ["NoSuchSet"], ["bicubic"], [2], show_progress=False)
    with pytest.raises(BrightroomError, match="unknown benchmark task"):
        run_benchmark("paint", [str(image_folder)], ["bicubic"], [2], show_progress=False)
    with pytest.raises(BrightroomError, match="unknown sr method"):
        run_benchmark("sr", [str(image_folder)], ["magic"], [2], show_progress=False)


@pytest.mark.parametrize("scale, published", [(2, 33.66), (4, 28.42)])
def test_bicubic_set5_reproduces_the_published_psnr(scale, published):
    shared_set("Set5")
    rows = run_benchmark("sr", ["Set5"], ["bicubic"], [scale], show_progress=False)
    assert rows[0]["psnr"] == pytest.approx(published, abs=0.05)


def test_report_sections_are_replaced_not_duplicated(tmp_path):
    report = tmp_path / "BENCHMARKS.md"
    row = {"task": "sr", "dataset": "Set5", "method": "bicubic", "scale": 2, "images": 5, "psnr": 33.65,
           "ssim": 0.93, "seconds": 0.01, "megapixels_per_second": 10.0}
    update_report(report, "sr", "SR", markdown_table([row]))
    update_report(report, "other", "Other", "kept")
    update_report(report, "sr", "SR", markdown_table([{**row, "psnr": 34.0}]))
    text = report.read_text()
    assert text.count("<!-- bench:sr -->") == 1 and "34.00" in text and "33.65" not in text and "kept" in text


def test_cli_bench_writes_json_and_report(image_folder, tmp_path, capsys):
    out, report = tmp_path / "rows.json", tmp_path / "B.md"
    code = main(["bench", "--task", "sr", "--datasets", str(image_folder), "--scales", "2", "--methods", "bicubic",
                 "--json", str(out), "--report", str(report), "--section", "sr-test", "--quiet", "--markdown"])
    assert code == 0
    rows = json.loads(out.read_text())
    assert rows[0]["scale"] == 2 and rows[0]["method"] == "bicubic"
    assert "| tiny-set | x2 | bicubic | 3 |" in capsys.readouterr().out
    assert "Produced by `brightroom" in report.read_text()


@pytest.mark.parametrize("argv, message", [
    (["--sigmas", "a,b"], "--sigmas takes a comma-separated list"),
    (["--limit", "0"], "--limit must be at least 1"),
    (["--limit-method", "bm3d=zero"], "--limit-method takes METHOD=N"),
])
def test_cli_bench_bad_options(image_folder, capsys, argv, message):
    code = main(["bench", "--task", "denoise", "--datasets", str(image_folder), "--quiet"] + argv)
    assert code == 2
    assert message in capsys.readouterr().err


def test_speed_run_reports_time_size_and_peak_memory(capsys):
    shared_set("Kodak24")
    assert main(["bench", "--task", "denoise", "--megapixels", "0.05", "--methods", "nlm", "--sigmas", "25",
                 "--quiet"]) == 0
    line = [row for row in capsys.readouterr().out.splitlines() if row.startswith("| denoise-speed")][0]
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[1] == "nlm" and cells[2] == "258 x 194 (0.1 MP)"
    assert float(cells[4]) > 0 and 0.05 < float(cells[8]) < 3  # seconds, peak RSS in GB
    assert cells[6] == cells[7] == "-"  # no GMAC count for a classical method
    assert main(["bench", "--task", "denoise", "--megapixels", "0.05", "--methods", "brightroom", "--sigmas", "25",
                 "--quiet"]) == 0
    line = [row for row in capsys.readouterr().out.splitlines() if row.startswith("| denoise-speed")][0]
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert float(cells[6]) == pytest.approx(111, abs=1) and float(cells[7]) > 0  # GMAC per MP, GMAC/s


def test_bench_needs_datasets_or_megapixels(capsys):
    assert main(["bench", "--task", "sr", "--quiet"]) == 2
    assert "--datasets is needed" in capsys.readouterr().err


def test_the_machine_line_names_the_vector_instructions_and_the_engine():
    import torch

    from brightroom.nn.runtime import describe

    line = machine_summary()
    assert f"({torch.backends.cpu.get_cpu_capability()}), {os.cpu_count()} cores" in line
    assert line.endswith(f"networks in {describe()}")


def test_real_noise_rows_score_every_method_against_the_reference(tmp_path):
    import numpy as np

    from brightroom.cli import main
    from brightroom.degrade import add_gaussian_noise
    from brightroom.io import write_image
    from conftest import smooth_image

    pairs = tmp_path / "pairs"
    pairs.mkdir()
    for index in range(2):
        clean = smooth_image(64, 64, 3, seed=index)
        write_image(pairs / f"shot{index}_mean.png", clean)
        write_image(pairs / f"shot{index}_real.png", np.clip(add_gaussian_noise(clean, 15, seed=index), 0, 1))
    (pairs / "unpaired_real.png").write_bytes((pairs / "shot0_real.png").read_bytes())
    out = tmp_path / "rows.json"
    assert main(["bench", "--task", "real", "--datasets", str(pairs), "--methods", "input,nlm", "--json", str(out),
                 "--quiet"]) == 0
    rows = json.loads(out.read_text())
    assert [(r["method"], r["images"]) for r in rows] == [("input", 2), ("nlm", 2)]
    assert rows[1]["psnr"] > rows[0]["psnr"] + 2 and 24 < rows[0]["psnr"] < 26
    assert main(["bench", "--task", "real", "--datasets", str(tmp_path), "--quiet"]) == 2  # no pairs there


def test_the_jpeg_benchmark_reproduces_the_published_jpeg_rows():
    from brightroom.bench.jpeg import run_jpeg_benchmark

    shared_set("classic5"), shared_set("LIVE1")
    rows = run_jpeg_benchmark(["classic5"], [10, 40], show_progress=False)
    rows += run_jpeg_benchmark(["LIVE1"], [10], gray=True, limit=None, show_progress=False)
    # classic5 27.82 / 32.43 and LIVE1 (gray) 27.77 at quality 10 and 40, as DnCNN's and FBCNN's papers print
    assert [round(r["psnr"], 2) for r in rows] == [27.82, 32.43, 27.77]
    assert all(r["gray"] and r["psnr_b"] < r["psnr"] and r["method"] == "jpeg" for r in rows)


def test_the_jpeg_benchmark_refuses_bad_qualities_and_methods(image_folder):
    from brightroom.bench.jpeg import run_jpeg_benchmark

    with pytest.raises(BrightroomError, match="a JPEG quality must be auto or a whole number from 1 to 100"):
        run_jpeg_benchmark([str(image_folder)], [0], show_progress=False)
    with pytest.raises(BrightroomError, match="unknown JPEG method"):
        run_jpeg_benchmark([str(image_folder)], [10], ["fbcnn"], show_progress=False)
    row = run_jpeg_benchmark([str(image_folder)], [10], show_progress=False)[0]
    assert row["gray"] is False and row["images"] == 3 and 20 < row["psnr"] < 45


@pytest.mark.slow
def test_the_jpeg_benchmark_scores_the_model_and_re_saved_crops(image_folder):
    from brightroom.bench.jpeg import run_jpeg_benchmark
    from brightroom.nn.zoo import get_model

    if not get_model("deblock").shipped:
        pytest.skip("deblock is not shipped")
    rows = run_jpeg_benchmark([str(image_folder)], [10], ["jpeg", "brightroom", "brightroom-blind"],
                              show_progress=False)
    jpeg, told, blind = rows
    assert told["psnr"] > jpeg["psnr"] + 0.1 and blind["psnr"] > jpeg["psnr"] + 0.1
    assert told["psnr_b"] > jpeg["psnr_b"]  # the blocking score of each method's own output
    resaved = run_jpeg_benchmark([str(image_folder)], [70], ["jpeg"], first_quality=30, show_progress=False)[0]
    once = run_jpeg_benchmark([str(image_folder)], [70], ["jpeg"], show_progress=False)[0]
    assert resaved["first_quality"] == 30 and resaved["psnr"] < once["psnr"]


def test_a_method_may_name_its_precision_so_one_run_compares_them(image_folder):
    rows = run_benchmark("denoise", [str(image_folder)], ["brightroom@fp32", "brightroom@int8"], [25], limit=2,
                         show_progress=False)
    by_method = {row["method"]: row["psnr"] for row in rows}
    assert list(by_method) == ["brightroom@fp32", "brightroom@int8"]
    assert by_method["brightroom@int8"] != by_method["brightroom@fp32"]  # int8 did run
    assert abs(by_method["brightroom@int8"] - by_method["brightroom@fp32"]) < 0.2
    with pytest.raises(BrightroomError, match="a method's precision is fp32, bf16 or int8"):
        run_benchmark("denoise", [str(image_folder)], ["brightroom@fast"], [25], show_progress=False)
