"""Renderers for the Analyze page: embeddings before/after and ΔW anatomy."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.analysis.delta import to_frame
from core.analysis.embeddings import project
from core.analysis.pipeline import EmbeddingOptions, EmbeddingReport, delta_rows, embedding_report
from core.charts.delta import effective_rank_figure, ratio_heatmap, spectrum_figure
from core.charts.embeddings import scatter_pair
from core.data.bundled import BUNDLED, load_bundled
from core.data.dataset import TextDataset
from ui.state import bind, lang, tr
from ui.widgets import guarded

# t-SNE takes seconds; any other widget on the page reruns the script, so keep projections.
_project = st.cache_data(max_entries=16, show_spinner=False)(project)


def _html_button(fig, name: str, key: str) -> None:
    st.download_button(tr("analyzepage.fig_html"), fig.to_html(include_plotlyjs="cdn").encode("utf-8"),
                       f"{name}.html", "text/html", key=key)


def render_delta(model, key: str) -> None:
    st.markdown(f"### {tr('analyzepage.delta')}")
    rows = guarded(lambda: delta_rows(model))
    if not rows:
        return
    heat = ratio_heatmap(rows, lang())
    st.plotly_chart(heat, width="stretch", key=f"{key}.heat")
    left, right = st.columns(2)
    with left:
        names = [r.module for r in rows]
        default = max(range(len(rows)), key=lambda i: rows[i].delta_norm)
        pick = st.selectbox(tr("analyzepage.pick_module"), names, index=default, key=f"{key}.module")
        spec = spectrum_figure(rows[names.index(pick)], lang())
        st.plotly_chart(spec, width="stretch", key=f"{key}.spec")
    with right:
        erank = effective_rank_figure(rows, lang())
        st.plotly_chart(erank, width="stretch", key=f"{key}.erank")
    frame = to_frame(rows)
    st.dataframe(frame, hide_index=True, width="stretch", height=300)
    c1, c2, c3 = st.columns(3)
    c1.download_button(tr("analyzepage.table_csv"), frame.to_csv(index=False).encode("utf-8"), "delta_w.csv",
                       "text/csv", key=f"{key}.csv")
    with c2:
        _html_button(heat, "delta_ratio_heatmap", f"{key}.heat_html")
    with c3:
        _html_button(erank, "effective_rank", f"{key}.erank_html")
    st.caption(tr("analyzepage.png_hint"))


def dataset_for(task: str, own: TextDataset | None, key: str) -> TextDataset | None:
    names = ([own.name] if own is not None else []) + [n for n, i in BUNDLED.items() if "seq-cls" in i.tasks]
    pick = st.selectbox(tr("analyzepage.data"), list(dict.fromkeys(names)), key=f"{key}.data",
                        format_func=lambda n: BUNDLED[n].display_name(lang()) if n in BUNDLED else n)
    if own is not None and pick == own.name:
        return own
    return guarded(lambda: load_bundled(pick, "seq-cls"))


def render_embeddings(model, tokenizer, ds: TextDataset, model_id: str, key: str) -> None:
    st.markdown(f"### {tr('analyzepage.emb')}")
    st.caption(tr("analysis.tsne_howto"))
    seeds = {"n": min(300, len(ds)), "method": "tsne", "perp": 30.0, "seed": 0, "layer": -1, "pool": "mean", "go": False}
    for name, value in seeds.items():  # kept in the workspace: a language switch or a reload keeps them
        bind(f"{key}.{name}", value)
    c = st.columns(6)
    n = c[0].number_input(tr("analyzepage.sample"), 10, 5000, key=f"{key}.n")
    method = c[1].selectbox(tr("analyzepage.method"), ("tsne", "pca"), key=f"{key}.method",
                            format_func=lambda m: "t-SNE" if m == "tsne" else "PCA")
    perplexity = c[2].number_input(tr("analyzepage.perplexity"), 2.0, 200.0, key=f"{key}.perp")
    seed = c[3].number_input(tr("analyzepage.seed"), 0, 10_000, key=f"{key}.seed")
    layer = c[4].number_input(tr("analyzepage.layer"), -100, 200, key=f"{key}.layer")
    pooling = c[5].selectbox(tr("analyzepage.pooling"), ("mean", "cls"), key=f"{key}.pool")
    if not st.toggle(tr("analyzepage.compute"), key=f"{key}.go"):
        return
    options = EmbeddingOptions(int(n), int(seed), int(layer), pooling, method, float(perplexity))
    with st.spinner(tr("analyzepage.computing")):
        report = guarded(lambda: _report(model, tokenizer, ds, options, model_id))
    if report is None:
        return
    _render_scores(report.scores, key)
    sample = report.sample.examples
    fig = scatter_pair(report.coords[0], report.coords[1], report.texts(), [e.label or "-" for e in sample], lang(),
                       method)
    st.plotly_chart(fig, width="stretch", key=f"{key}.scatter")
    _html_button(fig, f"embeddings_{method}", f"{key}.scatter_html")


def _report(model, tokenizer, ds: TextDataset, options: EmbeddingOptions, model_id: str) -> EmbeddingReport:
    """The shared pipeline; on this page a sample that cannot be scored is an error, shown by ``guarded``."""
    report = embedding_report(model, tokenizer, ds, options, model_id=model_id, projector=_project)
    if report.scores_error is not None:
        raise report.scores_error
    return report


def _render_scores(scores: dict, key: str) -> None:
    before, after = scores["before"], scores["after"]
    m = st.columns(4)
    m[0].metric(f"{tr('analyzepage.silhouette')} · {tr('analyzepage.before')}", f"{before.silhouette:.3f}")
    m[1].metric(f"{tr('analyzepage.silhouette')} · {tr('analyzepage.after')}", f"{after.silhouette:.3f}",
                delta=f"{after.silhouette - before.silhouette:+.3f}")
    m[2].metric(f"{tr('analyzepage.knn')} · {tr('analyzepage.before')}", f"{before.knn_accuracy:.1%}")
    m[3].metric(f"{tr('analyzepage.knn')} · {tr('analyzepage.after')}", f"{after.knn_accuracy:.1%}",
                delta=f"{100 * (after.knn_accuracy - before.knn_accuracy):+.1f} pp")
    frame = pd.DataFrame([{"space": k, "silhouette": v.silhouette, "knn_accuracy": v.knn_accuracy, "k": v.k}
                          for k, v in scores.items()])
    st.download_button(tr("analyzepage.scores_csv"), frame.to_csv(index=False).encode("utf-8"), "scores.csv",
                       "text/csv", key=f"{key}.scores_csv")
