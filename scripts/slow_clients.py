"""Hold many slow, half-open connections to a local Brightroom server and check that it still
answers: each connection sends part of a request head and never finishes it (the "slowloris"
attack). The server should drop them after its request timeout and answer health checks in time.

Loopback only; bounded in count and time. Run from the repo root:

    .venv/bin/python scripts/slow_clients.py [--connections 1100] [--seconds 30]

Prints one line per second (connections held open, the health check's latency) and a verdict;
exit status 1 if a health check took a second or more or failed.
"""

from __future__ import annotations

import argparse
import resource
import socket
import subprocess
import sys
import time

PARTIAL_HEAD = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def health_latency(port: int) -> float | None:
    """Seconds for one health request on a fresh connection; None if it failed."""
    started = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            if b"200 OK" not in connection.recv(4096):
                return None
    except OSError:
        return None
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1100)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    if not 1 <= args.connections <= 5000 or not 1 <= args.seconds <= 300:
        parser.error("at most 5000 connections for at most 300 seconds")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this client holds them all too

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "brightroom.serve", "--port", str(port), "--workers", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if health_latency(port) is not None:
                break
            time.sleep(0.1)
        else:
            print("the server did not start")
            return 1
        held: list[socket.socket] = []
        worst, failures, ended = 0.0, 0, time.monotonic() + args.seconds
        while time.monotonic() < ended:
            # top the attack up: closed connections are replaced, so it never lets go
            alive = []
            for connection in held:
                try:
                    connection.send(b"a")  # one more byte of a header that never ends
                    alive.append(connection)
                except OSError:
                    connection.close()
            held = alive
            while len(held) < args.connections:
                try:
                    connection = socket.create_connection(("127.0.0.1", port), timeout=1)
                    connection.sendall(PARTIAL_HEAD)
                    held.append(connection)
                except OSError:
                    break
            latency = health_latency(port)
            failures += latency is None
            worst = max(worst, latency if latency is not None else float("inf"))
            shown = "failed" if latency is None else f"{latency * 1000:.0f} ms"
            print(f"{time.monotonic() - ended + args.seconds:5.1f} s: {len(held)} slow connections open, health {shown}")
            time.sleep(max(0.0, 1.0 - (latency or 0.0)))
        for connection in held:
            connection.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    ok = failures == 0 and worst < 1.0
    print(f"{'OK' if ok else 'FAILED'}: worst health latency {worst * 1000:.0f} ms, {failures} failed, "
          f"{args.connections} slow connections for {args.seconds:g} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
