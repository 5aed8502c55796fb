"""A few smoke steps of the real training loop on a tiny model and a tiny dataset."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from brightroom.cli import main
from brightroom.nn.registry import load_weights, read_metadata
from brightroom.nn.zoo import get_model
from brightroom.train.config import load_config
from brightroom.train.denoise import level_weights, noisy_batch, prepare
from brightroom.train.loop import cosine_lr, output_path
from conftest import train_two_steps


def _config(tmp_path: Path, data: Path) -> Path:
    text = f"""
task = "denoise"
name = "tiny"
[model]
architecture = "NoiseLevelUNet"
channels = 3
widths = [8, 16, 32]
blocks = 1
[data]
train = "{data}"
holdout_every = 3
patch_size = 32
batch_size = 2
[noise]
sigma_max = 75
poisson_gaussian_fraction = 0.5
validation_sigma = 25
[optim]
steps = 4
lr = 1e-3
lr_min = 1e-5
[run]
precision = "bf16"
seed = 0
checkpoint = "{tmp_path / 'ckpt.pt'}"
log = "{tmp_path / 'log.jsonl'}"
output = "{tmp_path / 'tiny.safetensors'}"
checkpoint_every = 2
validate_every = 2
"""
    path = tmp_path / "tiny.toml"
    path.write_text(text)
    return path


def test_train_checkpoints_resumes_and_exports(tmp_path, image_folder):
    config = _config(tmp_path, image_folder)
    assert main(["train", "denoise", "--config", str(config), "--max-steps", "2"]) == 0
    first = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    assert first["step"] == 2
    assert main(["train", "denoise", "--config", str(config), "--resume"]) == 0
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    assert all("val_psnr" in r and r["val_psnr"] > 10 for r in records)
    assert torch.load(tmp_path / "ckpt.pt", weights_only=False)["step"] == 4
    model = load_weights(tmp_path / "tiny.safetensors")
    assert read_metadata(tmp_path / "tiny.safetensors")["steps"] == "4"
    with torch.no_grad():
        out = model(torch.rand(1, 3, 16, 16), torch.full((1, 1, 16, 16), 0.1))
    assert out.shape == (1, 3, 16, 16)


def test_resume_without_a_checkpoint_continues_from_the_shipped_weights(tmp_path, image_folder, capsys):
    config = _config(tmp_path, image_folder)
    assert main(["train", "denoise", "--config", str(config), "--max-steps", "2"]) == 0
    (tmp_path / "ckpt.pt").unlink()  # checkpoints stay on the machine that trained
    assert main(["train", "denoise", "--config", str(config), "--resume"]) == 0
    assert "resumed from the weights in" in capsys.readouterr().err
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    assert read_metadata(tmp_path / "tiny.safetensors")["steps"] == "4"


def test_resume_without_checkpoint_and_wrong_task_are_errors(tmp_path, image_folder, capsys):
    config = _config(tmp_path, image_folder)
    assert main(["train", "denoise", "--config", str(config), "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert main(["train", "sr", "--config", str(config)]) == 2
    assert main(["train", "denoise", "--config", "no-such-config"]) == 2
    assert "shipped: deblock, denoise-color, denoise-gray" in capsys.readouterr().err


def test_shipped_configs_load():
    for name in ("denoise-color", "denoise-gray"):
        config = load_config(name)
        assert config["noise"]["sigma_max"] == 75 and output_path(config) == get_model(name).weights


def test_noisy_batch_gives_matching_sigma_maps():
    rng = np.random.default_rng(0)
    clean = np.full((64, 3, 16, 16), 0.5, np.float32)
    noisy, sigma = noisy_batch(clean, {"sigma_max": 75, "poisson_gaussian_fraction": 0.5}, rng)
    assert sigma.shape == (64, 1, 16, 16) and 0 <= sigma.min() and sigma.max() <= 75 / 255 + 1e-6
    measured = (noisy - clean).std(axis=(1, 2, 3))
    np.testing.assert_allclose(measured, sigma.mean(axis=(1, 2, 3)), atol=0.03)


def test_a_level_balanced_stage_trains_and_a_bad_precision_is_refused(tmp_path, image_folder, capsys):
    config = _config(tmp_path, image_folder)
    text = config.read_text().replace('precision = "bf16"', 'precision = "auto"')
    stage = '[[stage]]\nsteps = 2\nlr = 1e-4\nnoise = { balanced_loss_offset = 10 }\n[run]'
    config.write_text(text.replace("[run]", stage))
    assert main(["train", "denoise", "--config", str(config)]) == 0
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 6 and records[-1]["lr"] == pytest.approx(5.5e-5)  # halfway down the stage's cosine
    config.write_text(config.read_text().replace('precision = "auto"', 'precision = "fp8"'))
    assert main(["train", "denoise", "--config", str(config)]) == 2
    assert "precision must be auto, bf16 or fp32" in capsys.readouterr().err


def test_a_stage_may_change_the_patch_and_batch_size(tmp_path, image_folder):
    _, make_batch, _ = prepare(load_config(str(_config(tmp_path, image_folder))))
    rng = np.random.default_rng(0)
    (noisy, sigma), clean = make_batch(rng, {})
    assert noisy.shape == clean.shape == (2, 3, 32, 32) and sigma.shape == (2, 1, 32, 32)
    (noisy, sigma), clean = make_batch(rng, {"data": {"patch_size": 24, "batch_size": 3}})
    assert noisy.shape == clean.shape == (3, 3, 24, 24) and sigma.shape == (3, 1, 24, 24)


def test_a_smaller_network_fine_tunes_from_part_of_a_larger_ones_weights(tmp_path, image_folder, capsys):
    from brightroom.nn.registry import build, save_weights

    recipe = {"channels": 3, "widths": [8, 16, 32], "blocks": 2}
    source = build("NoiseLevelUNet", **recipe)
    save_weights(source, tmp_path / "big.safetensors", "NoiseLevelUNet", recipe)
    config = _config(tmp_path, image_folder)
    text = config.read_text().replace("blocks = 1", "blocks = [2, 1, 0, 1, 2]").replace("lr = 1e-3", "lr = 0.0")
    text = text.replace("lr_min = 1e-5", "lr_min = 0.0")
    config.write_text(text.replace("[run]", f'[run]\ninit_weights = "{tmp_path / "big.safetensors"}"'))
    assert main(["train", "denoise", "--config", str(config)]) == 0
    assert "8 of its tensors left out" in capsys.readouterr().err  # blocks enc1.1, middle.0-1, dec1.1
    small = load_weights(tmp_path / "tiny.safetensors")
    assert [len(small.enc1), len(small.middle), len(small.dec0)] == [1, 0, 2]
    # a zero learning rate exports the very weights it took (rounded to float16 as shipped)
    expected = {k: v.half().float() for k, v in source.state_dict().items()}
    assert all(torch.equal(expected[k], v) for k, v in small.state_dict().items())
    # a narrower network the weights do not fit is refused in one sentence
    config.write_text(config.read_text().replace("widths = [8, 16, 32]", "widths = [8, 16, 24]"))
    assert main(["train", "denoise", "--config", str(config)]) == 2
    assert "('down1.weight' is (32, 16, 2, 2) there, (24, 16, 2, 2) here)" in capsys.readouterr().err


def test_inherited_tensors_may_train_at_a_scaled_rate_while_new_layers_take_the_full_one(tmp_path, image_folder, capsys):
    from brightroom.nn.registry import build, save_weights

    recipe = {"channels": 3, "widths": [8, 16, 32], "blocks": 1}
    source = build("NoiseLevelUNet", **recipe)
    save_weights(source, tmp_path / "plain.safetensors", "NoiseLevelUNet", recipe)
    config = _config(tmp_path, image_folder)
    text = config.read_text().replace("blocks = 1", "blocks = 1\nfull_width = 4\nfull_blocks = 1")
    text = text.replace("lr_min = 1e-5", "lr_min = 1e-5\ninherited_lr_scale = 0.0")
    config.write_text(text.replace("[run]", f'[run]\ninit_weights = "{tmp_path / "plain.safetensors"}"'))
    assert main(["train", "denoise", "--config", str(config)]) == 0
    grown = load_weights(tmp_path / "tiny.safetensors").state_dict()
    kept = {k: v.half().float() for k, v in source.state_dict().items()}
    # a zero scale leaves every inherited tensor as it was; the grown head and the new stage learn
    assert all(torch.equal(grown[k], v) for k, v in kept.items() if k != "head.weight")
    assert not torch.equal(grown["head.weight"][:, :13], kept["head.weight"])
    assert grown["full_tail.weight"].abs().sum() > 0
    # a checkpoint saved with the scale does not resume without it
    config.write_text(config.read_text().replace("steps = 4", "steps = 6").replace("inherited_lr_scale = 0.0", ""))
    assert main(["train", "denoise", "--config", str(config), "--resume"]) == 2
    assert "saved with inherited_lr_scale set differently" in capsys.readouterr().err
    config.write_text(config.read_text().replace("lr_min = 1e-5", "lr_min = 1e-5\ninherited_lr_scale = 0.0"))
    # the scale needs something inherited
    config.write_text(config.read_text().replace(f'init_weights = "{tmp_path / "plain.safetensors"}"', ""))
    assert main(["train", "denoise", "--config", str(config)]) == 2
    assert "inherited_lr_scale needs [run] init_weights" in capsys.readouterr().err


def test_a_larger_network_grows_from_a_smaller_ones_weights_computing_the_same_at_first():
    from brightroom.nn.denoiser import NoiseLevelUNet
    from brightroom.train.warm_start import warm_start

    torch.manual_seed(0)
    small = NoiseLevelUNet(3, (8, 16, 32), 1).eval()
    for parameter in small.parameters():  # trained weights are not those of a fresh network
        parameter.data.normal_(0, 0.2)
    large = NoiseLevelUNet(3, (12, 24, 32), [2, 1, 3, 1, 2]).eval()
    said = warm_start(large, small.state_dict(), "small")
    assert said == "grew 14 of its tensors into wider ones; 4 new residual blocks start as the identity"
    x, sigma = torch.rand(2, 3, 24, 24), torch.rand(2, 1, 24, 24) * 0.2
    assert torch.allclose(large(x, sigma), small(x, sigma), atol=1e-5)
    assert large.head.weight[8:].abs().sum() > 0  # new channels carry signal ...
    assert torch.equal(large.tail.weight[:, 8:], torch.zeros_like(large.tail.weight[:, 8:]))  # ... unread yet
    (large(x, sigma) - x).abs().mean().backward()
    assert large.tail.weight.grad[:, 8:].abs().sum() > 0  # so the readers of the new channels learn
    assert large.middle[2].conv2.weight.grad.abs().sum() > 0  # and so do the identity blocks


def test_a_full_resolution_stage_grows_around_a_trained_u_net_computing_the_same_at_first():
    from brightroom.nn.denoiser import NoiseLevelUNet
    from brightroom.train.warm_start import warm_start

    torch.manual_seed(0)
    plain = NoiseLevelUNet(3, (8, 16, 32), 1).eval()
    for parameter in plain.parameters():
        parameter.data.normal_(0, 0.2)
    full = NoiseLevelUNet(3, (8, 16, 32), 1, full_width=4, full_blocks=1).eval()
    said = warm_start(full, plain.state_dict(), "plain")
    assert said == ("grew 1 of its tensors into wider ones; 2 new residual blocks start as the identity; "
                    "new layers full_fuse, full_head, full_tail")
    x, sigma = torch.rand(1, 3, 16, 16), torch.rand(1, 1, 16, 16) * 0.2
    assert torch.allclose(full(x, sigma), plain(x, sigma), atol=1e-5)
    assert full.full_head.weight.abs().sum() > 0 and full.full_tail.weight.abs().sum() == 0


def test_level_weights_favour_low_noise_and_average_one():
    sigma = np.array([0, 15, 50, 75], np.float32).reshape(4, 1, 1, 1) / 255
    weights = level_weights(sigma, offset=10)
    assert weights.mean() == pytest.approx(1.0) and np.all(np.diff(weights) < 0)
    assert weights[1] / weights[2] == pytest.approx(60 / 25)


def test_cosine_schedule_ends_at_the_minimum():
    assert cosine_lr(0, 10, 1.0, 0.1) == 1.0
    assert cosine_lr(5, 10, 1.0, 0.1) == pytest.approx(0.55)
    assert cosine_lr(10, 10, 1.0, 0.1) == pytest.approx(0.1)


def test_sigterm_stops_with_a_checkpoint(tmp_path, image_folder):
    import signal
    import subprocess
    import sys
    import time

    config = _config(tmp_path, image_folder)
    config.write_text(config.read_text().replace("steps = 4", "steps = 100000"))
    process = subprocess.Popen([sys.executable, "-m", "brightroom.cli", "train", "denoise", "--config", str(config)],
                               stderr=subprocess.PIPE, text=True)
    log = tmp_path / "log.jsonl"
    deadline = time.time() + 60
    while not (log.exists() and log.read_text()) and time.time() < deadline:  # the first record at step 2
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0
    stopped = torch.load(tmp_path / "ckpt.pt", weights_only=False)["step"]
    assert stopped >= 2 and f"stopped at step {stopped}" in stderr


def _sr_config(tmp_path: Path, data: Path, name: str, degradation: str, extra_run: str = "", lr: str = "1e-3") -> Path:
    text = f"""
task = "sr"
name = "{name}"
[model]
architecture = "MultiScaleSR"
width = 8
blocks = 1
scales = [2, 3]
[data]
train = "{data}"
degradation = "{degradation}"
holdout_every = 3
low_patch_size = 12
batch_size = 2
[optim]
steps = 2
lr = {lr}
lr_min = {lr}
[run]
precision = "bf16"
seed = 0
checkpoint = "{tmp_path / (name + '.pt')}"
log = "{tmp_path / (name + '.jsonl')}"
output = "{tmp_path / (name + '.safetensors')}"
checkpoint_every = 2
validate_every = 2
{extra_run}
"""
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_sr_training_and_fine_tuning_from_its_weights(tmp_path, image_folder):
    classic = _sr_config(tmp_path, image_folder, "classic", "bicubic")
    assert main(["train", "sr", "--config", str(classic)]) == 0
    record = json.loads((tmp_path / "classic.jsonl").read_text().splitlines()[-1])
    assert record["step"] == 2 and record["val_psnr"] > 10
    start = load_weights(tmp_path / "classic.safetensors").state_dict()
    # With a zero learning rate, fine-tuning must export exactly the weights it started from.
    init = f'init_weights = "{tmp_path / "classic.safetensors"}"'
    real = _sr_config(tmp_path, image_folder, "real", "real", extra_run=init, lr="0.0")
    assert main(["train", "sr", "--config", str(real)]) == 0
    tuned = load_weights(tmp_path / "real.safetensors").state_dict()
    assert all(torch.equal(start[key], tuned[key]) for key in start)


def test_the_real_photo_model_trains_a_few_steps_and_exports(tmp_path, image_folder):
    record, model = train_two_steps(tmp_path, "real", "tiny-real", f"""
task = "real"
name = "tiny-real"
[model]
architecture = "RealPhotoDenoiser"
widths = [8, 16, 32]
blocks = 1
estimator_width = 8
estimator_blocks = 1
[data]
train = "{image_folder}"
holdout_every = 3
patch_size = 16
batch_size = 2
""")
    assert record["step"] == 2 and record["val_psnr"] > 10
    with torch.no_grad():
        assert model(torch.rand(1, 3, 16, 16)).shape == (1, 3, 16, 16)
        assert model.estimator(torch.rand(1, 3, 16, 16)).shape == (1, 2, 16, 16)
