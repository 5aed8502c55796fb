"""The camera pipeline: RAW development, unprocessing, burst alignment and merging, HDR.

Everything here works on NumPy arrays (images float32 H x W x C in [0, 1],
sRGB-encoded; Bayer mosaics float32 H x W, linear) or on file paths:

- ``develop_raw(path)`` / ``develop(raw)``: Brightroom's own ISP from a RAW/DNG file's
  Bayer data and metadata to an sRGB image.
- ``unprocess(image)`` / ``unprocess_to_dng(path, image)``: an sRGB image back to a
  realistic noisy Bayer RAW (Brooks et al. 2019), written as DNG if asked.
- ``merge_burst(frames)``: HDR+-style align and robust merge of a handheld burst;
  ``merge_raw_burst(paths)`` merges the Bayer data of RAW files, then develops.
- ``fuse_exposures(frames)`` (Mertens) and ``merge_hdr(frames, exposure_times)``
  (radiance merge and tone mapping) for bracketed exposures.

>>> import numpy as np
>>> from brightroom.degrade import add_gaussian_noise
>>> scene = np.full((64, 64, 3), 0.5, np.float32)
>>> burst = [add_gaussian_noise(scene, 25, seed=s) for s in range(4)]
>>> bool(merge_burst(burst).std() < burst[0].std() / 2)
True
"""

from ..io.raw import CFA_PATTERNS, RawImage, read_raw
from .align import estimate_flow, warp
from .bayer import mosaic_image
from .demosaic import DEMOSAIC_METHODS, demosaic
from .hdr import fuse_exposures, merge_hdr, merge_radiance
from .merge import align_burst, merge_bayer, merge_burst, merge_raw_burst
from .noise import estimate_noise_model
from .raw import develop, develop_raw
from .unprocess import unprocess, unprocess_to_dng, write_raw_dng

__all__ = [
    "CFA_PATTERNS",
    "DEMOSAIC_METHODS",
    "RawImage",
    "align_burst",
    "demosaic",
    "develop",
    "develop_raw",
    "estimate_flow",
    "estimate_noise_model",
    "fuse_exposures",
    "merge_bayer",
    "merge_burst",
    "merge_hdr",
    "merge_radiance",
    "merge_raw_burst",
    "mosaic_image",
    "read_raw",
    "unprocess",
    "unprocess_to_dng",
    "write_raw_dng",
    "warp",
]
