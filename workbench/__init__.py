"""Synthetic Data Workbench: can I trust this synthetic data?

Cheap to import: heavy libraries (sentence-transformers, torch, altair) load on first use, and the
RFC 3987 parser that jsonschema would build at import time is deferred (see `workbench._imports`).
Modules: data, provenance, embed, checks, audit, charts, demo (see README.md).
"""

from workbench._imports import defer_rfc3987_syntax

defer_rfc3987_syntax()

__version__ = "0.1.0"
