"""`SpotCheck`: review synthetic labels one example at a time, every verdict saved at once.

The text is untrusted: the browser view only ever sets it as text (`textContent`), the plain HTML
fallback escapes it. Keyboard: `a` agree, `w` wrong (with the chosen corrected label), `u` unsure,
`1`-`9` "the right label is choice k" (agree if it is the shown label, else wrong with that label),
`z` undo, `n` neighbours, `j`/`k` next/previous.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import anywidget
import numpy as np
import polars as pl
import traitlets

from workbench import spotcheck
from workbench.errors import WorkbenchError

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

    A view of a `workbench.spotcheck.ReviewSession` (`.session`), which decides what is shown,
    what comes next, the counts, undo and resume; the arguments are the session's. `df`: the data
    (with `id`, `text`), `store`: a `workbench.spotcheck.VerdictStore` (every verdict is written
    before the view moves on), `reviewer`: the reviewer's name. `ids`: the review order (e.g.
    `spotcheck.sample(df, 50, "disagreement", ...)["id"]`; default: every row), saved in the store
    as queue `queue`, so a new `SpotCheck` on the same store and queue resumes where `reviewer`
    stopped. `labels`: the labelers' labels as a long frame (`spotcheck.labels_long`; default the
    frame's own `label`); the first labeler is the one whose label `agree` vouches for.
    `embeddings` (aligned with `df`) enable `k_neighbours` nearest neighbours on request.

    Drive it from Python with `agree()`, `wrong(label)`, `unsure()`, `choose(k)`, `undo()`,
    `next()`, `previous()`, `show_neighbours()`, or by setting the `action` trait as the view does.
    A refused action (e.g. `wrong` with the label shown) leaves its reason in `message`.
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
        self.session = spotcheck.ReviewSession(
            df, store, reviewer=reviewer, ids=ids, queue=queue, labels=labels, choices=choices, embeddings=embeddings
        )
        self.k_neighbours = k_neighbours
        super().__init__(reviewer=reviewer, choices=self.session.choices, total=self.session.total, **kwargs)
        self._sync()

    @property
    def store(self) -> spotcheck.VerdictStore:
        return self.session.store

    # -- actions --------------------------------------------------------------------------------

    def agree(self) -> None:
        self._verdict(lambda: self.session.agree(note=self.note))

    def wrong(self, label: str | None = None) -> None:
        corrected = label if label is not None else self.corrected_label
        self._verdict(lambda: self.session.wrong(corrected, note=self.note))

    def unsure(self) -> None:
        self._verdict(lambda: self.session.unsure(note=self.note))

    def choose(self, k: int) -> None:
        """The right label is choice `k` (0-based): agree when it is the shown label, else wrong with it."""
        self._verdict(lambda: self.session.choose(k, note=self.note))

    def undo(self) -> None:
        try:
            undone = self.session.undo()
        except WorkbenchError as exc:
            self.message = str(exc)
            return
        self.message = "nothing to undo" if undone is None else f"undid your {undone['verdict']} verdict"
        self._sync()

    def next(self) -> None:
        self.session.next()
        self._sync()

    def previous(self) -> None:
        self.session.previous()
        self._sync()

    def show_neighbours(self) -> None:
        try:
            found = self.session.neighbours(self.k_neighbours)
        except WorkbenchError as exc:
            self.message = str(exc)
            return
        self.neighbours = [
            n | {"labels": ", ".join(f"{x['labeler']}: {x['label']}" for x in n["labels"])} for n in found
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

    def _verdict(self, record: Callable[[], int]) -> None:
        try:
            record()
        except WorkbenchError as exc:  # refused or not saved (e.g. the store is locked): say why, stay put
            self.message = str(exc)
            return
        self.message = ""
        self.note = ""
        self._sync()

    def _go(self, position: int) -> None:
        self.session.go(position)
        self._sync()

    def _sync(self) -> None:
        """Mirror the session's state in the traits the view draws."""
        s = self.session
        self.counts = s.counts
        self.neighbours = []
        self.done = s.done
        self.position = s.position
        self.item = s.item
        if not s.done:
            self.corrected_label = s.suggested_correction

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
