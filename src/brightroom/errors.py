"""The one exception type that reaches users as a single clear sentence, and keeping libraries'
log chatter off their screen."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


class BrightroomError(Exception):
    """A problem with the user's input or options, worded for the user.

    The CLI prints it as one line and exits with status 2; the web service
    answers it with a 4xx status. Anything else is a bug.

    >>> str(BrightroomError("scale must be 2, 3 or 4, not 5."))
    'scale must be 2, 3 or 4, not 5.'
    """


def check_number(name: str, value, low: float, high: float) -> float:
    """``value`` as a float when it is a number from ``low`` to ``high``, else one sentence naming it.

    >>> check_number("the strength", "0.5", 0, 1)
    0.5
    >>> check_number("the strength", 2, 0, 1)
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: the strength must be a number from 0 to 1, not 2.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not low <= number <= high:  # NaN fails both comparisons
        raise BrightroomError(f"{name} must be a number from {low:g} to {high:g}, not {value}.")
    return number


@contextlib.contextmanager
def quiet_logger(name: str | None = None) -> Iterator[None]:
    """Only errors from the logger ``name`` (the root logger for None) while the block runs: a
    library's progress lines and advice are not for Brightroom's users, who get its own lines.

    >>> with quiet_logger("ray.data"):
    ...     logging.getLogger("ray.data").level
    40
    """
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
