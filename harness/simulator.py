"""The bundled Binance simulator (``include.binance_sim``) in its own process on 127.0.0.1, and the stream service
started against it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def simulator(*args: str) -> Iterator[tuple[str, str]]:
    """``python -m include.binance_sim --port 0 ARGS`` on 127.0.0.1; yields its REST and stream URLs."""
    command = [sys.executable, "-m", "include.binance_sim", "--port", "0", *args]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    lines = [process.stdout.readline(), process.stdout.readline()]
    try:
        if "listening on" not in lines[0] or "streams on" not in lines[1]:
            raise RuntimeError(f"simulator did not start: {lines!r}")
        yield lines[0].rsplit(" ", 1)[-1].strip(), lines[1].rsplit(" ", 1)[-1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def stream_service(env: dict[str, str]) -> subprocess.Popen[str]:
    """``python -m binance_airflow.stream`` with ``env``, its output (stderr too) readable as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "binance_airflow.stream"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
