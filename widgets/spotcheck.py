"""`SpotCheck`: review synthetic labels one example at a time, every verdict saved at once.

The text is untrusted: the browser view only ever sets it as text (`textContent`), the plain HTML
fallback escapes it. Keyboard: `a` agree, `w` wrong (with the chosen corrected label), `u` unsure,
`1`-`9` "the right label is choice k" (agree if it is the shown label, else wrong with that label),
`z` undo, `n` neighbours, `j`/`k` next/previous.
"""

from __future__ import annotations

import html
from typing import Any

import anywidget
import numpy as np
import polars as pl
import traitlets

from workbench import spotcheck
from workbench.errors import InputError

LONG_TEXT = 600  # characters shown before a long text collapses behind "show all"

_ESM = r"""
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function render({ model, el: root }) {
  const box = el("div", "wb-spotcheck");
  box.tabIndex = 0;
  root.appendChild(box);
  const send = (kind, extra) => {
    model.set("action", Object.assign({ kind: kind, nonce: Date.now() + Math.random() }, extra || {}));
    model.save_changes();
  };
  const draw = () => {
    box.replaceChildren();
    const item = model.get("item") || {};
    const progress = el("div", "wb-progress");
    const c = model.get("counts") || {};
    progress.textContent = `${Math.min(model.get("position") + 1, model.get("total"))} / ${model.get("total")}` +
      ` · reviewed ${c.total || 0} (agree ${c.agree || 0}, wrong ${c.wrong || 0}, unsure ${c.unsure || 0})` +
      ` · reviewer ${model.get("reviewer")}`;
    box.appendChild(progress);
    if (model.get("done")) {
      box.appendChild(el("p", "wb-done", "All examples in this queue are reviewed. Undo (z) to revisit the last one."));
    }
    if (item.id !== undefined) {
      const text = String(item.text || "");
      const limit = model.get("long_text");
      const body = el("div", "wb-text");
      if (text.length > limit) {
        const details = el("details", "wb-long");
        const summary = el("summary", null, text.slice(0, limit) + " … (show all " + text.length + " characters)");
        details.appendChild(summary);
        details.appendChild(el("div", "wb-full", text));
        body.appendChild(details);
      } else {
        body.textContent = text;
      }
      box.appendChild(body);
      const table = el("table", "wb-labels");
      const head = el("tr");
      ["labeler", "label", "confidence"].forEach((h) => head.appendChild(el("th", null, h)));
      table.appendChild(head);
      (item.labels || []).forEach((l) => {
        const tr = el("tr");
        tr.appendChild(el("td", null, l.labeler));
        tr.appendChild(el("td", "wb-label", l.label));
        tr.appendChild(el("td", null, l.confidence === null || l.confidence === undefined ? "" : Number(l.confidence).toFixed(2)));
        table.appendChild(tr);
      });
      box.appendChild(table);
      const mine = item.verdict ? `your verdict: ${item.verdict}` + (item.corrected_label ? ` → ${item.corrected_label}` : "") : "";
      if (mine) box.appendChild(el("div", "wb-mine", mine));
      const buttons = el("div", "wb-buttons");
      const mk = (label, cls, fn) => { const b = el("button", "wb-btn " + cls, label); b.onclick = fn; buttons.appendChild(b); return b; };
      mk("agree (a)", "wb-agree", () => send("agree"));
      const select = el("select", "wb-correct");
      (model.get("choices") || []).forEach((ch, i) => {
        const o = el("option", null, `${i + 1}: ${ch}`); o.value = ch; select.appendChild(o);
      });
      select.value = model.get("corrected_label") || "";
      select.onchange = () => { model.set("corrected_label", select.value); model.save_changes(); };
      mk("wrong (w)", "wb-wrong", () => send("wrong", { corrected_label: select.value }));
      buttons.appendChild(select);
      mk("unsure (u)", "wb-unsure", () => send("unsure"));
      mk("undo (z)", "wb-undo", () => send("undo"));
      mk("◀ (k)", "wb-prev", () => send("previous"));
      mk("▶ (j)", "wb-next", () => send("next"));
      mk("neighbours (n)", "wb-neighbours-btn", () => send("neighbours"));
      box.appendChild(buttons);
      const note = el("input", "wb-note");
      note.placeholder = "note (optional, saved with the verdict)";
      note.value = model.get("note") || "";
      note.oninput = () => { model.set("note", note.value); model.save_changes(); };
      box.appendChild(note);
    }
    const msg = model.get("message");
    if (msg) box.appendChild(el("div", "wb-message", msg));
    const nb = model.get("neighbours") || [];
    if (nb.length) {
      const t = el("table", "wb-neighbours");
      const h = el("tr");
      ["similarity", "labels", "text"].forEach((x) => h.appendChild(el("th", null, x)));
      t.appendChild(h);
      nb.forEach((r) => {
        const tr = el("tr");
        tr.appendChild(el("td", null, Number(r.similarity).toFixed(2)));
        tr.appendChild(el("td", null, r.labels));
        tr.appendChild(el("td", null, r.text));
        t.appendChild(tr);
      });
      box.appendChild(t);
    }
  };
  box.addEventListener("keydown", (e) => {
    if (e.target && (e.target.tagName === "INPUT" || e.target.tagName === "SELECT")) return;
    const keys = { a: "agree", u: "unsure", z: "undo", n: "neighbours", j: "next", k: "previous" };
    if (e.key === "w") { send("wrong", { corrected_label: model.get("corrected_label") }); }
    else if (keys[e.key]) { send(keys[e.key]); }
    else if (/^[1-9]$/.test(e.key)) { send("label", { choice: Number(e.key) - 1 }); }
    else return;
    e.preventDefault();
  });
  ["item", "counts", "position", "total", "done", "message", "neighbours", "choices", "corrected_label"].forEach(
    (name) => model.on("change:" + name, draw));
  draw();
}
export default { render };
"""

_CSS = """
.wb-spotcheck { font-family: sans-serif; max-width: 900px; padding: 8px; border: 1px solid #ddd; outline: none; }
.wb-spotcheck:focus { border-color: #4a90d9; }
.wb-spotcheck .wb-progress { color: #555; font-size: 12px; margin-bottom: 6px; }
.wb-spotcheck .wb-text { white-space: pre-wrap; font-size: 15px; padding: 8px; background: #fafafa; margin-bottom: 6px; }
.wb-spotcheck table { border-collapse: collapse; font-size: 13px; margin: 4px 0; }
.wb-spotcheck td, .wb-spotcheck th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
.wb-spotcheck .wb-buttons { display: flex; gap: 6px; flex-wrap: wrap; margin: 6px 0; }
.wb-spotcheck .wb-agree { background: #dff5e1; } .wb-spotcheck .wb-wrong { background: #fbe3e4; }
.wb-spotcheck .wb-message { color: #b35c00; font-size: 12px; }
.wb-spotcheck .wb-note { width: 60%; }
"""


def _fmt_conf(value: Any) -> str:
    return "" if value is None else f"{float(value):.2f}"


class SpotCheck(anywidget.AnyWidget):
    """Review labels side by side: the text, each labeler's label and confidence, and buttons.

    `df`: the data (with `id`, `text`), `store`: a `workbench.spotcheck.VerdictStore` (every
    verdict is written before the view moves on), `reviewer`: the reviewer's name. `ids`: the
    review order (e.g. `spotcheck.sample(df, 50, "disagreement", ...)["id"]`; default: every row),
    saved in the store as queue `queue`, so a new `SpotCheck` on the same store and queue resumes
    where `reviewer` stopped. `labels`: the labelers' labels as a long frame
    (`spotcheck.labels_long`; default the frame's own `label`); the first labeler is the one whose
    label `agree` vouches for. `embeddings` (aligned with `df`) enable nearest neighbours on request.

    Drive it from Python with `agree()`, `wrong(label)`, `unsure()`, `choose(k)`, `undo()`,
    `next()`, `previous()`, `show_neighbours()`, or by setting the `action` trait as the view does.
    """

    _esm = _ESM
    _css = _CSS

    item = traitlets.Dict().tag(sync=True)
    position = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    counts = traitlets.Dict().tag(sync=True)
    choices = traitlets.List(traitlets.Unicode()).tag(sync=True)
    corrected_label = traitlets.Unicode("").tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    reviewer = traitlets.Unicode("").tag(sync=True)
    done = traitlets.Bool(False).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    neighbours = traitlets.List(traitlets.Dict()).tag(sync=True)
    action = traitlets.Dict().tag(sync=True)
    long_text = traitlets.Int(LONG_TEXT).tag(sync=True)

    def __init__(
        self,
        df: pl.DataFrame,
        store: spotcheck.VerdictStore,
        *,
        reviewer: str,
        ids: Any = None,
        queue: str = "default",
        labels: pl.DataFrame | None = None,
        choices: list[str] | None = None,
        embeddings: np.ndarray | None = None,
        k_neighbours: int = 5,
        **kwargs: Any,
    ) -> None:
        if "id" not in df.columns or "text" not in df.columns:
            raise InputError("SpotCheck needs a frame with 'id' and 'text' columns (run workbench.data.validate).")
        if not reviewer:
            raise InputError("SpotCheck needs reviewer= (your name): every verdict is signed.")
        if embeddings is not None and np.asarray(embeddings).shape[0] != df.height:
            raise InputError(
                f"embeddings must have one row per data row ({df.height}); got {np.asarray(embeddings).shape}."
            )
        self.df = df
        self.store = store
        self.embeddings = embeddings
        self.k_neighbours = k_neighbours
        self._row = {i: r for r, i in enumerate(df["id"].to_list())}
        self._texts = df["text"].to_list()
        order = [str(i) for i in (df["id"] if ids is None else ids)]
        unknown = [i for i in order if i not in self._row]
        if unknown:
            raise InputError(f"{len(unknown)} id(s) to review are not in the data, e.g. {unknown[:3]}.")
        labels = spotcheck.labels_long(df) if labels is None else labels
        self.labels = labels
        self._labelers = list(dict.fromkeys(labels["labeler"].to_list()))
        self.primary = self._labelers[0] if self._labelers else None
        self._by_id: dict[str, list[dict[str, Any]]] = {}
        for i, who, lab, conf in labels.select("id", "labeler", "label", "confidence").iter_rows():
            self._by_id.setdefault(i, []).append({"labeler": who, "label": lab, "confidence": conf})
        found = sorted({str(v) for v in labels["label"].drop_nulls().to_list()})
        store.add_labels(labels.filter(pl.col("id").is_in(order)))
        store.save_queue(queue, order, strategy="spotcheck")
        self.queue_name = queue
        self.order = order
        self._mine: dict[str, dict[str, Any]] = {}
        super().__init__(reviewer=reviewer, choices=choices or found, total=len(order), **kwargs)
        self._reload_mine()
        self._go(store.resume(queue, reviewer))

    # -- actions --------------------------------------------------------------------------------

    def agree(self) -> None:
        self._verdict("agree")

    def wrong(self, label: str | None = None) -> None:
        self._verdict("wrong", label if label is not None else self.corrected_label)

    def unsure(self) -> None:
        self._verdict("unsure")

    def choose(self, k: int) -> None:
        """The right label is choice `k` (0-based): agree when it is the shown label, else wrong with it."""
        if not 0 <= k < len(self.choices):
            self.message = f"there is no choice {k + 1}; choices are 1-{len(self.choices)}"
            return
        pick = self.choices[k]
        if pick == self._shown_label():
            self.agree()
        else:
            self.wrong(pick)

    def undo(self) -> None:
        undone = self.store.undo(self.reviewer)
        if undone is None:
            self.message = "nothing to undo"
            return
        self._reload_mine()
        target = undone["example_id"]
        self.message = f"undid your {undone['verdict']} verdict"
        self._go(self.order.index(target) if target in self.order else self.position)

    def next(self) -> None:
        self._go(min(self.position + 1, len(self.order)))

    def previous(self) -> None:
        self._go(max(self.position - 1, 0))

    def show_neighbours(self) -> None:
        if self.embeddings is None:
            self.message = "no embeddings given: pass embeddings= to see nearest neighbours"
            return
        if self.done:
            return
        idx, sims = spotcheck.nearest_neighbours(self.embeddings, self._row[self.item["id"]], self.k_neighbours)
        ids = self.df["id"].to_list()
        self.neighbours = [
            {
                "id": ids[j],
                "text": self._texts[j],
                "similarity": float(s),
                "labels": ", ".join(f"{x['labeler']}: {x['label']}" for x in self._by_id.get(ids[j], [])),
            }
            for j, s in zip(idx.tolist(), sims.tolist())
        ]

    @traitlets.observe("action")
    def _on_action(self, change: dict[str, Any]) -> None:
        a = change["new"] or {}
        kind = a.get("kind")
        if kind is None:
            return
        # cleared after handling, so the same action twice in a row (no nonce) is seen twice
        self.action = {}
        handlers = {
            "agree": self.agree,
            "unsure": self.unsure,
            "undo": self.undo,
            "next": self.next,
            "previous": self.previous,
            "neighbours": self.show_neighbours,
        }
        if kind == "wrong":
            self.wrong(a.get("corrected_label") or self.corrected_label)
        elif kind == "label":
            self.choose(int(a.get("choice", -1)))
        elif kind in handlers:
            handlers[kind]()
        else:
            self.message = f"unknown action {kind!r}"

    # -- internals ------------------------------------------------------------------------------

    def _shown_label(self) -> str | None:
        for x in self.item.get("labels", []):
            if x["labeler"] == self.primary:
                return x["label"]
        return None

    def _verdict(self, verdict: str, corrected: str | None = None) -> None:
        if self.done or not self.item:
            self.message = "the queue is done; undo or go back to change a verdict"
            return
        shown = self._shown_label()
        if verdict == "wrong":
            if not corrected:
                self.message = "choose the corrected label first (or press its number)"
                return
            if corrected == shown:
                self.message = f"'{corrected}' is the label shown; that is an agree"
                return
        example = self.item["id"]
        self.store.record(
            example,
            verdict,
            reviewer=self.reviewer,
            corrected_label=corrected if verdict == "wrong" else None,
            note=self.note,
            labeler=self.primary,
            label=shown,
        )
        self._mine[example] = {"verdict": verdict, "corrected_label": corrected if verdict == "wrong" else None}
        self.message = ""
        self.note = ""
        nxt = next((i for i in range(self.position + 1, len(self.order)) if self.order[i] not in self._mine), None)
        if nxt is None:
            nxt = next((i for i in range(len(self.order)) if self.order[i] not in self._mine), len(self.order))
        self._go(nxt)

    def _reload_mine(self) -> None:
        v = self.store.verdicts(self.reviewer)
        self._mine = {
            e: {"verdict": vd, "corrected_label": c}
            for e, vd, c in v.select("example_id", "verdict", "corrected_label").iter_rows()
        }

    def _go(self, position: int) -> None:
        in_queue = [self._mine[i]["verdict"] for i in self.order if i in self._mine]
        self.counts = {k: in_queue.count(k) for k in spotcheck.VERDICTS} | {"total": len(in_queue)}
        self.neighbours = []
        self.done = position >= len(self.order)
        self.position = min(position, len(self.order))
        if self.done:
            self.item = {}
            return
        example = self.order[self.position]
        mine = self._mine.get(example, {})
        self.item = {
            "id": example,
            "text": self._texts[self._row[example]],
            "labels": self._by_id.get(example, []),
            "verdict": mine.get("verdict"),
            "corrected_label": mine.get("corrected_label"),
        }
        shown = self._shown_label()
        others = [c for c in self.choices if c != shown]
        self.corrected_label = others[0] if others else ""

    # -- plain fallback -------------------------------------------------------------------------

    def fallback_html(self) -> str:
        """A static, escaped view of the current item (for frontends without widget support)."""
        c = self.counts
        head = (
            f"<p>{min(self.position + 1, self.total)} / {self.total} · reviewed {c.get('total', 0)} "
            f"(agree {c.get('agree', 0)}, wrong {c.get('wrong', 0)}, unsure {c.get('unsure', 0)})</p>"
        )
        if self.done:
            return head + "<p>All examples in this queue are reviewed.</p>"
        rows = "".join(
            f"<tr><td>{html.escape(str(x['labeler']))}</td><td>{html.escape(str(x['label']))}</td>"
            f"<td>{_fmt_conf(x['confidence'])}</td></tr>"
            for x in self.item.get("labels", [])
        )
        return (
            f"<div class='wb-spotcheck-fallback'>{head}<p style='white-space:pre-wrap'>{html.escape(self.item['text'])}</p>"
            f"<table><tr><th>labeler</th><th>label</th><th>confidence</th></tr>{rows}</table>"
            "<p><i>Interactive review needs Jupyter widgets; record verdicts with .agree(), .wrong(label), .unsure().</i></p></div>"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            data["text/html"] = self.fallback_html()
        return bundle
