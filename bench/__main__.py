"""`python -m bench [name ...]`: run every benchmark module (or the named ones), each in turn."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import bench


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    chosen = argv or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {names}")
        return 2
    for name in chosen:
        print(f"== bench/{name}.py", flush=True)
        importlib.import_module(f"bench.{name}").main()
    print(f"results in {Path(bench.__file__).parent / 'results'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
