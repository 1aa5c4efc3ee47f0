"""`PerturbationExplorer`: one example, one perturbation, one strength at a time, and the model's answer."""

from __future__ import annotations

import html
from typing import Any

import altair as alt
import ipywidgets as ipw
import polars as pl
import traitlets

from workbench import charts, perturb

MAX_EXAMPLES = 500
CURVE_ROWS = 200


def diff_html(spans: list[tuple[str, str]]) -> str:
    """Perturbed text with additions highlighted and removals struck through; all text escaped."""
    out = []
    for kind, text in spans:
        safe = html.escape(text).replace("\n", "<br>")
        if kind == "added":
            out.append(f"<mark class='wb-added' style='background:#fff3b0'>{safe}</mark>")
        elif kind == "removed":
            out.append(f"<del class='wb-removed' style='color:#cf222e'>{safe}</del>")
        else:
            out.append(safe)
    return "".join(out)


class PerturbationExplorer(ipw.VBox):
    """Pick an example, a perturbation and a strength; see the perturbed text (changes highlighted)
    and, with a model, its prediction and confidence before and after, plus the sensitivity curve of
    that perturbation over the whole set (flip rate and accuracy against strength).

    `predict_fn` is what `workbench.perturb.sensitivity` takes (a callable or a model with
    `predict_proba`); without one the explorer only shows the text. Traits: `index`,
    `perturbation`, `strength`, `seed` (set them to drive the view), and the results
    `perturbed_text`, `before` and `after` (`{"prediction", "confidence"}`).
    """

    index = traitlets.Int(0).tag(sync=False)
    perturbation = traitlets.Unicode("typos").tag(sync=False)
    strength = traitlets.Float(0.5).tag(sync=False)
    seed = traitlets.Int(0).tag(sync=False)
    perturbed_text = traitlets.Unicode("").tag(sync=False)
    before = traitlets.Dict().tag(sync=False)
    after = traitlets.Dict().tag(sync=False)

    def __init__(
        self,
        df: pl.DataFrame,
        predict_fn: Any = None,
        *,
        classes: Any = None,
        strengths: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0),
        curve_rows: int = CURVE_ROWS,
        **kwargs: Any,
    ) -> None:
        if "text" not in df.columns or df.height == 0:
            raise ValueError("PerturbationExplorer needs a frame with a 'text' column and at least one row")
        self.df = df.head(MAX_EXAMPLES)
        self.predict_fn = predict_fn
        self.classes = classes
        self.strengths = tuple(strengths)
        self.curve_data = df.sample(min(curve_rows, df.height), seed=0) if df.height > curve_rows else df
        self._curves: dict[str, pl.DataFrame] = {}
        texts = self.df["text"].to_list()
        self.picker = ipw.Dropdown(
            options=[(f"{i}: {t[:70]}", i) for i, t in enumerate(texts)], value=0, description="example"
        )
        self.chooser = ipw.Dropdown(options=sorted(perturb.REGISTRY), value="typos", description="perturbation")
        self.slider = ipw.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="strength")
        self.seed_box = ipw.BoundedIntText(value=0, min=0, max=2**31 - 1, description="seed")
        for control, name in ((self.picker, "index"), (self.chooser, "perturbation"), (self.slider, "strength"), (self.seed_box, "seed")):  # fmt: skip
            traitlets.link((control, "value"), (self, name))
        self.about = ipw.HTML()
        self.original = ipw.HTML()
        self.text_view = ipw.HTML()
        self.prediction_view = ipw.HTML()
        self.curve_table = ipw.HTML()
        children: list[ipw.Widget] = [
            ipw.HBox([self.picker, self.chooser]),
            ipw.HBox([self.slider, self.seed_box]),
            self.about,
            self.original,
            self.text_view,
            self.prediction_view,
        ]
        self.chart: alt.JupyterChart | None = None
        if predict_fn is not None:
            self.chart = alt.JupyterChart(self._curve_chart())
            children += [self.chart, self.curve_table]
        super().__init__(children, **kwargs)
        self.add_class("wb-perturbation-explorer")
        self._refresh()

    @traitlets.observe("index", "perturbation", "strength", "seed")
    def _on_change(self, change: dict[str, Any]) -> None:
        if change["name"] == "perturbation" and getattr(self, "chart", None) is not None:
            self.chart.chart = self._curve_chart()
        self._refresh()

    def _refresh(self) -> None:
        if not hasattr(self, "text_view"):
            return
        original = self.df["text"][self.index]
        p = perturb.REGISTRY[self.perturbation]
        self.perturbed_text = perturb.perturb_text(original, self.perturbation, self.strength, self.seed)
        self.about.value = (
            f"<p><b>{html.escape(p.name)}</b> ({html.escape(p.expectation)}, {p.test} test): "
            f"{html.escape(p.description)}. Strength: {html.escape(p.strength_meaning)}.</p>"
        )
        self.original.value = f"<p><i>original:</i> {html.escape(original)}</p>"
        changed = self.perturbed_text != original
        body = diff_html(perturb.diff_spans(original, self.perturbed_text)) if changed else html.escape(original)
        note = "" if changed else " <i>(unchanged at this strength)</i>"
        self.text_view.value = f"<div class='wb-perturbed'><i>perturbed:</i> {body}{note}</div>"
        if self.predict_fn is None:
            self.prediction_view.value = "<p><i>Pass predict_fn to see the model's answers.</i></p>"
            return
        preds = perturb.predict(self.predict_fn, [original, self.perturbed_text], classes=self.classes)
        rows = preds.select("prediction", "confidence").to_dicts()
        self.before, self.after = rows[0], rows[1]
        flipped = rows[0]["prediction"] != rows[1]["prediction"]
        verdict = "flipped" if flipped else "kept"
        expected = "should keep" if p.expectation == perturb.LABEL_PRESERVING else "should move away from"
        self.prediction_view.value = (
            "<table class='wb-predictions' style='border-collapse:collapse'>"
            "<tr><th></th><th>prediction</th><th>confidence</th></tr>"
            f"<tr><td>before</td><td>{html.escape(rows[0]['prediction'])}</td><td>{rows[0]['confidence']:.3f}</td></tr>"
            f"<tr><td>after</td><td>{html.escape(rows[1]['prediction'])}</td><td>{rows[1]['confidence']:.3f}</td></tr>"
            f"</table><p>The model {verdict} its answer; a {p.expectation} perturbation {expected} it.</p>"
        )

    def curve(self, perturbation: str | None = None) -> pl.DataFrame:
        """The sensitivity table of one perturbation over the set (baseline row included), cached."""
        name = perturbation or self.perturbation
        if name not in self._curves:
            report = perturb.sensitivity(
                self.predict_fn, self.curve_data, [name], self.strengths, seed=self.seed, classes=self.classes
            )
            self._curves[name] = report.table
        return self._curves[name]

    def _curve_chart(self) -> alt.LayerChart:
        table = self.curve()
        self.curve_table.value = self._curve_html(table)
        metric = "accuracy" if table["accuracy"].is_not_nan().any() else "flip_rate"
        note = f" ({self.curve_data.height} examples)"
        return charts.sensitivity_curve(table, metric).properties(title=f"{self.perturbation}: {metric}{note}")

    @staticmethod
    def _curve_html(table: pl.DataFrame) -> str:
        cols = ["perturbation", "strength", "changed", "accuracy", "flip_rate", "confidence_shift", "failures"]
        head = "".join(f"<th>{c}</th>" for c in cols)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(v if isinstance(v, str) else ('' if v is None else f'{v:.3g}'))}</td>" for v in row
            )
            + "</tr>"
            for row in table.select(cols).iter_rows()
        )
        return f"<table class='wb-curve' style='font-size:12px'><tr>{head}</tr>{body}</table>"
