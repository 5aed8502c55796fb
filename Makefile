# Two entry points for a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_OUT := demo-output

.PHONY: demo test test-fast lint install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch is pinned in pyproject.toml (torch==2.13.0, the CPU build).
install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

# spandrel (bring-your-own weights) without its torchvision: see src/brightroom/nn/foreign.py.
install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps 'spandrel>=0.4,<0.5' 'einops>=0.7'

demo: install
	$(BIN)/brightroom demo --output-dir $(DEMO_OUT)

test: install-test
	$(BIN)/python -m pytest

# Under a minute: leaves out whole-image networks, subprocesses, training runs, the browser and the datasets.
test-fast: install-test
	$(BIN)/python -m pytest -m "not slow and not browser and not datasets"

lint: install-test
	$(BIN)/ruff check src tests scripts conftest.py

# Regenerates every table of BENCHMARKS.md on this machine (about an hour on 2 cores).
BENCH := $(BIN)/brightroom bench --report BENCHMARKS.md --quiet
bench: install
	$(BENCH) --section denoise-color --title "Colour denoising (AWGN)" --task denoise \
	  --datasets CBSD68,Kodak24 --sigmas 15,25,50 --methods nlm,bm3d,brightroom,brightroom-ensemble --limit-method bm3d=6
	$(BENCH) --section denoise-gray --title "Gray denoising (AWGN)" --task denoise \
	  --datasets BSD68,Set12 --sigmas 15,25,50 --methods nlm,bm3d,brightroom,brightroom-ensemble --limit-method bm3d=6
	$(BENCH) --section denoise-speed --title "Denoising a large colour photo" --task denoise \
	  --megapixels 12,24 --methods brightroom,brightroom-real
	$(BENCH) --section peers-denoise --title "Colour denoising beside DnCNN (the authors' published weights from ../shared/anchors, not shipped)" \
	  --task denoise --datasets CBSD68,Kodak24 --sigmas 15,25,50 \
	  --methods 'brightroom,brightroom-real,weights:../shared/anchors/dncnn_color_sigma{sigma}.pth'
	$(BENCH) --section real --title "Real camera noise (blind)" --task real \
	  --datasets real/CC15 --methods input,bm3d,brightroom,brightroom-real
	$(BENCH) --section denoise-blind --title "Colour AWGN, the real-photo model blind" --task denoise \
	  --datasets CBSD68 --sigmas 15,25,50 --methods brightroom,brightroom-real
	$(BENCH) --section sr --title "Super-resolution (PSNR/SSIM on Y)" --task sr \
	  --datasets Set5,Set14,BSD100 --scales 2,3,4 --methods bicubic,brightroom,brightroom-real
	$(BENCH) --section sr-speed --title "Upscaling a 3 MP photo x2" --task sr \
	  --megapixels 12 --scales 2 --methods brightroom,brightroom-real
	$(BENCH) --section demosaic --title "Demosaicking (noise-free RGGB mosaics)" --task demosaic \
	  --datasets Kodak24 --methods bilinear,mhc,rcd
	$(BENCH) --section develop-speed --title "Developing a 24 MP RAW (ISO 3200-like), with and without RAW denoising" \
	  --task develop --megapixels 24 --methods rcd,mhc,rcd+brightroom-raw
	$(BENCH) --section raw --title "RAW denoising (Kodak24 unprocessed to RAW, four ISO levels)" --task raw \
	  --datasets Kodak24 --limit-method bm3d=4
	$(BENCH) --section raw-burst --title "RAW bursts: the merged mosaic RAW-denoised against sRGB denoising" \
	  --task raw-burst --datasets Kodak24 --frames 4 --limit 8
	$(BENCH) --section jpeg-gray --title "JPEG artifact removal, gray (the literature's classic5 and LIVE1 Y)" \
	  --task jpeg --datasets classic5,LIVE1 --gray --qualities 10,20,30,40 --methods jpeg,brightroom,brightroom-blind
	$(BENCH) --section jpeg-color --title "JPEG artifact removal, colour (LIVE1, 4:2:0)" \
	  --task jpeg --datasets LIVE1 --qualities 10,20,30,40 --methods jpeg,brightroom,brightroom-blind
	$(BENCH) --section jpeg-double --title "Re-saved crops: quality 30, a 4-pixel crop, then quality 70 (LIVE1, colour)" \
	  --task jpeg --datasets LIVE1 --first-quality 30 --qualities 70 --methods jpeg,brightroom,brightroom-blind
	$(BENCH) --section jpeg-speed --title "JPEG artifact removal on a 12 MP colour photo (quality 30)" \
	  --task jpeg --megapixels 12 --qualities 30 --methods brightroom,brightroom-blind
	$(BENCH) --section int8-real --title "int8 against float32 on a CPU without bf16 (real camera noise, blind)" \
	  --task real --datasets real/CC15 --methods brightroom-real@fp32,brightroom-real@int8
	$(BENCH) --section int8-speed --title "int8 against float32 on a CPU without bf16: a 12 MP photo" \
	  --task denoise --megapixels 12 --methods brightroom@fp32,brightroom@int8,brightroom-real@fp32,brightroom-real@int8
	$(BENCH) --section burst --title "Burst merging (synthetic handheld bursts)" --task burst \
	  --datasets Kodak24 --frames 4,8
	$(BENCH) --section burst-speed --title "Burst merging: an 8-frame 12 MP burst" --task burst \
	  --megapixels 12 --frames 8 --sigmas 10 --methods merge

clean:
	rm -rf $(VENV) $(DEMO_OUT) build src/*.egg-info
