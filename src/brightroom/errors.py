"""The one exception type that reaches users as a single clear sentence."""


class BrightroomError(Exception):
    """A problem with the user's input or options, worded for the user.

    The CLI prints it as one line and exits with status 2; the web service
    answers it with a 4xx status. Anything else is a bug.

    >>> str(BrightroomError("scale must be 2, 3 or 4, not 5."))
    'scale must be 2, 3 or 4, not 5.'
    """
