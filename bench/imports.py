"""`import workbench, widgets` in a fresh interpreter: with the deferred RFC 3987 parser (the
default) vs eager imports (`WORKBENCH_EAGER_IMPORTS=1`, what jsonschema does on its own), in one run.

Goal: under 2 s on a quiet machine. Also records what dominates the rest (`python -X importtime`,
the largest packages by cumulative time).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from bench._util import write_result

ROUNDS = 7
CODE = "import workbench, widgets"


def _once(eager: bool) -> float:
    env = {**os.environ, "WORKBENCH_EAGER_IMPORTS": "1" if eager else "0"}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", CODE], check=True, env=env)
    return time.perf_counter() - t0


def _breakdown(top: int = 8) -> list[dict[str, object]]:
    """Packages (modules without a dot, wherever they were first imported) by cumulative import
    time, largest first: what dominates what is left."""
    env = {**os.environ, "WORKBENCH_EAGER_IMPORTS": "0"}
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", CODE], capture_output=True, text=True, env=env)
    totals: dict[str, int] = {}
    for line in err.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        if not cumulative.isdigit():
            continue
        if "." not in name:
            totals[name] = totals.get(name, 0) + int(cumulative)
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    return [{"module": m, "seconds": round(us / 1e6, 3)} for m, us in ranked]


def main() -> None:
    _once(False)  # warm the OS file cache and __pycache__ for both variants
    _once(True)
    deferred, eager = [], []
    for _ in range(ROUNDS):  # interleaved: background load hits both alike
        deferred.append(_once(False))
        eager.append(_once(True))
    write_result(
        "imports",
        {
            "statement": CODE,
            "rounds": ROUNDS,
            "deferred_s": [round(t, 3) for t in deferred],
            "eager_s": [round(t, 3) for t in eager],
            "deferred_median_s": round(statistics.median(deferred), 3),
            "eager_median_s": round(statistics.median(eager), 3),
            "speedup_median": round(statistics.median(eager) / statistics.median(deferred), 2),
            "largest_imports_deferred": _breakdown(),
            "goals": {"deferred_median_s": "< 2 on a quiet machine"},
        },
    )


if __name__ == "__main__":
    main()
