"""Synthetic Data Workbench: can I trust this synthetic data?

Cheap to import: heavy libraries (sentence-transformers, torch, altair) load on first use.
Modules: data, provenance, embed, checks, audit, charts, demo (see README.md).
"""

__version__ = "0.1.0"
