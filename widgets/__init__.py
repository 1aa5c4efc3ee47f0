"""Thin UI for the workbench: widgets hold state in traitlets and call `workbench`; they never compute.

Start every notebook with `import widgets; widgets.setup()`: charts then render offline (the
altair `jupyter` renderer with the vega bundle shipped in the package, no CDN) and workbench
errors show as one readable line instead of a traceback.
"""

from __future__ import annotations

import workbench  # noqa: F401  first: defers a slow import that altair would pay (workbench._imports)
from widgets.coverage import CoverageExplorer
from widgets.diary import DiaryView
from widgets.embedding_map import EmbeddingMap
from widgets.perturbation import PerturbationExplorer
from widgets.setup import setup
from widgets.spotcheck import SpotCheck

__all__ = ["CoverageExplorer", "DiaryView", "EmbeddingMap", "PerturbationExplorer", "SpotCheck", "setup"]
