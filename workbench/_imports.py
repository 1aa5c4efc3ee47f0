"""Import-time hygiene: keep `import workbench, widgets` cheap.

`altair` imports `jsonschema`, whose format module imports `rfc3987_syntax` when it is installed
(it is: `jupyter-events` asks for `jsonschema[format-nongpl]`). That module builds an Earley
parser for the whole RFC 3987 grammar with lark *at import time*: about 1 s on a quiet 2-core
machine and 12 s on a busy one, paid by the first cell of every notebook, although nothing in the
workbench (or altair) ever validates an IRI.

`defer_rfc3987_syntax()` puts a small stand-in module under that name before jsonschema looks for
it. jsonschema only needs `is_valid_syntax` to exist; the stand-in builds the real parser on the
first call (or on the first access to any other attribute) and delegates from then on, so `iri`
and `iri-reference` format checks behave exactly as before, only later. It does nothing when the
package is absent, already imported, or when `WORKBENCH_EAGER_IMPORTS=1` is set.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
import types
from typing import Any

_NAME = "rfc3987_syntax"
_lock = threading.Lock()


def _real() -> types.ModuleType:
    """Import the real module (replacing the stand-in in sys.modules) and return it."""
    with _lock:
        current = sys.modules.get(_NAME)
        if current is not None and not getattr(current, "_workbench_deferred", False):
            return current
        sys.modules.pop(_NAME, None)
        try:
            return importlib.import_module(_NAME)
        except BaseException:
            if current is not None:
                sys.modules[_NAME] = current
            raise


def _is_valid_syntax(term: str, value: str) -> bool:
    return bool(_real().is_valid_syntax(term, value))


def _getattr(attr: str) -> Any:
    if attr.startswith("__"):
        raise AttributeError(attr)
    return getattr(_real(), attr)


def defer_rfc3987_syntax() -> bool:
    """Install the stand-in; True when it was installed (see the module docstring)."""
    if os.environ.get("WORKBENCH_EAGER_IMPORTS", "").strip() not in ("", "0"):
        return False
    if _NAME in sys.modules or "jsonschema._format" in sys.modules:
        return False
    spec = importlib.util.find_spec(_NAME)
    if spec is None:
        return False
    shim = types.ModuleType(_NAME, "Deferred rfc3987_syntax (see workbench._imports): loads on first use.")
    shim.__spec__ = spec
    shim.__file__ = spec.origin
    shim._workbench_deferred = True  # type: ignore[attr-defined]
    shim.is_valid_syntax = _is_valid_syntax  # type: ignore[attr-defined]
    shim.__getattr__ = _getattr  # type: ignore[method-assign]
    sys.modules[_NAME] = shim
    return True
