"""Checking a burst or bracket: at least two frames, all readable, all the same size."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import BrightroomError
from ..image import check_image
from ..io import read_image

MIN_SIDE = 32  # smaller frames hold too few tiles to align


def load_frames(frames: Sequence[np.ndarray | str | Path], *, what: str = "a burst") -> list[np.ndarray]:
    """Frames as float32 H x W x C arrays: arrays are checked, paths are read.

    >>> load_frames([np.zeros((32, 32, 3))])
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: a burst needs at least two frames, not 1.
    """
    if isinstance(frames, (np.ndarray, str, Path)) or not isinstance(frames, Sequence):
        raise BrightroomError(f"{what} must be given as a list of frames.")
    if len(frames) < 2:
        raise BrightroomError(f"{what} needs at least two frames, not {len(frames)}.")
    loaded = []
    for number, frame in enumerate(frames, start=1):
        if isinstance(frame, (str, Path)):
            frame = read_image(frame).pixels  # its errors already name the file
        try:
            loaded.append(check_image(frame))
        except BrightroomError as error:
            raise BrightroomError(f"frame {number}: {error}") from None
    check_same_size(loaded)
    height, width = loaded[0].shape[:2]
    if min(height, width) < MIN_SIDE:
        raise BrightroomError(f"the frames are {width}x{height} pixels; at least {MIN_SIDE}x{MIN_SIDE} are needed.")
    return loaded


def check_same_size(frames: Sequence[np.ndarray]) -> None:
    """Raise a clear error unless every frame has the shape of the first.

    >>> check_same_size([np.zeros((4, 6, 3)), np.zeros((6, 4, 3))])
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: all frames must have the same size: frame 1 is 6x4 but frame 2 is 4x6.
    """
    first = frames[0].shape
    for number, frame in enumerate(frames[1:], start=2):
        if frame.shape[:2] != first[:2]:
            raise BrightroomError(
                f"all frames must have the same size: frame 1 is {first[1]}x{first[0]} "
                f"but frame {number} is {frame.shape[1]}x{frame.shape[0]}."
            )
        if frame.shape != first:
            kinds = {1: "gray", 3: "RGB"}
            raise BrightroomError(
                f"all frames must be all gray or all RGB: frame 1 is {kinds.get(first[-1], first[-1])} "
                f"but frame {number} is {kinds.get(frame.shape[-1], frame.shape[-1])}."
            )


def check_reference(reference: int, count: int) -> int:
    """A valid index of the reference frame (0-based).

    >>> check_reference(1, 3)
    1
    """
    if isinstance(reference, bool) or not isinstance(reference, (int, np.integer)) or not 0 <= reference < count:
        raise BrightroomError(f"the reference frame must be an index from 0 to {count - 1}, not {reference!r}.")
    return int(reference)
