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
