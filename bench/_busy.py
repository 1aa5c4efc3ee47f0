"""A second process that keeps every core busy, as a researcher's other kernel or build would.

`busy()` starts it and stops it on exit: a numpy loop of 1,500 x 1,500 matrix products with the
default BLAS threads (one per core), the same kind of load a second Jupyter kernel puts on a laptop.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

_LOOP = """
import numpy as np
a = np.random.default_rng(0).normal(size=(1500, 1500))
while True:
    a = a @ a
    a /= np.abs(a).max()
"""


@contextmanager
def busy(warmup_s: float = 2.0) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", _LOOP], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(warmup_s)  # numpy imported and the loop running before anything is timed
        if proc.poll() is not None:
            raise RuntimeError("the busy process died before the measurement")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
