"""The load test (scripts/load_test.py) as a test: 2 waves of 50 concurrent small-image requests on 127.0.0.1.

Each answer is 200 or 503 with Retry-After, the server's memory does not grow from wave to
wave, and no temporary file remains once the time to live has passed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("psutil")
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "load_test.py"


def load_script():
    spec = importlib.util.spec_from_file_location("load_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_fifty_concurrent_requests_get_200_or_503_and_leave_nothing_behind():
    load_test = load_script()
    report = load_test.run_load_test(requests=50, waves=2, workers=2, queue_limit=8, ttl=1.5, method="nlm",
                                     deadline=120, say=lambda text: None)
    assert report.ok, report.text()
    assert set(report.statuses) <= {200, 503} and sum(report.statuses.values()) == 100
    assert report.statuses.get(200, 0) >= 2  # at least the workers' share got through
    assert report.leftover_files == []


def test_the_server_module_refuses_bad_settings(capsys):
    from brightroom.serve.__main__ import main

    assert main(["--workers", "0"]) == 2
    assert "workers must be a whole number of at least 1" in capsys.readouterr().err
