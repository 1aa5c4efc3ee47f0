"""One call per notebook: offline chart rendering and readable workbench errors."""

from __future__ import annotations

from typing import Any


def setup(*, friendly_errors: bool = True) -> None:
    """Render altair charts offline as `JupyterChart` widgets and show `WorkbenchError`s as one line.

    Safe to call more than once, and outside IPython (then it only configures altair).
    """
    import altair as alt
    import polars as pl

    alt.JupyterChart.enable_offline()
    alt.renderers.enable("jupyter", offline=True)
    pl.Config.set_fmt_str_lengths(100)
    pl.Config.set_tbl_rows(12)
    if friendly_errors:
        _install_error_handler()


def _install_error_handler() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return
    from workbench.errors import WorkbenchError

    def handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> None:
        print(f"{etype.__name__}: {value}")

    ip.set_custom_exc((WorkbenchError,), handler)
