"""bench_ingest's peak RSS is the consumer's own, not that of the bench that started it.

wait4's ru_maxrss gave a child the peak of its parent (Linux starts the child's maximum at the
peak of the address space it replaced at exec), so after the bench had built its copy rows the
"consumer's" peak at a 1M backlog was the bench's own.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[3] / "bench" / "bench_ingest.py"
BIG = 256 * 1024 * 1024


def _bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_ingest", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_a_child_started_after_a_large_peak_reports_its_own_peak() -> None:
    peak_rss_kib = _bench_module().peak_rss_kib
    ballast = bytearray(BIG)
    ballast[::4096] = b"\x01" * len(range(0, BIG, 4096))  # touch every page: resident
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    del ballast
    try:
        own = peak_rss_kib(child.pid)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        _, _, usage = os.wait4(child.pid, 0)
    assert 0 < own < BIG // 1024 // 4, own
    # What the bench used to read: the parent's peak, not the child's.
    assert usage.ru_maxrss >= BIG // 1024, usage.ru_maxrss


def test_the_peak_of_a_supervisor_includes_its_children() -> None:
    peak_rss_kib = _bench_module().peak_rss_kib
    grow = f"b = bytearray({BIG}); b[::4096] = b'\\x01' * len(range(0, {BIG}, 4096)); input()"
    supervisor = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys; "
            f"subprocess.run([sys.executable, '-c', {grow!r}], stdin=sys.stdin)",
        ],
        stdin=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30  # the child's allocation takes well under a second
        while (peak := peak_rss_kib(supervisor.pid)) < BIG // 1024 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        assert supervisor.stdin is not None
        supervisor.stdin.close()
        supervisor.wait(30)
    assert peak >= BIG // 1024, peak
