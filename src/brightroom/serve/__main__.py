"""``python -m brightroom.serve [--host H] [--port P] ...``: the web service (the same as ``brightroom serve``)."""

from __future__ import annotations

import argparse
import sys

from ..errors import BrightroomError
from .settings import add_serve_arguments, settings_from_args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m brightroom.serve", description="Serve Brightroom's page and API.")
    add_serve_arguments(parser)
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
    except BrightroomError as error:
        print(f"brightroom: error: {error}", file=sys.stderr)
        return 2
    from . import run

    run(args.host, args.port, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
