"""Renderers for the Analyze page: embeddings before/after and ΔW anatomy."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.analysis.delta import to_frame
from core.analysis.embeddings import project
from core.analysis.pipeline import EmbeddingOptions, EmbeddingReport, delta_rows, embedding_report
from core.analysis.snippet import SAMPLE_FILE, SCRIPT_FILE, SILHOUETTE_TOLERANCE, analysis_script, sample_jsonl
from core.charts.delta import effective_rank_figure, ratio_heatmap, spectrum_figure
from core.charts.embeddings import scatter_pair
from core.charts.tables import display_columns
from core.data.bundled import BUNDLED, load_bundled
from core.data.dataset import TextDataset
from core.format import percent, ratio
from ui.state import bind, lang, tr
from ui.widgets import guarded, number_columns

# t-SNE takes seconds; any other widget on the page reruns the script, so keep projections.
_project = st.cache_data(max_entries=16, show_spinner=False)(project)


def _html_button(fig, label_key: str, name: str, key: str) -> None:
    """One download per chart, named after its chart; the HTML is built only when clicked."""
    st.download_button(tr(label_key), lambda: fig.to_html(include_plotlyjs="cdn").encode("utf-8"),
                       f"{name}.html", "text/html", key=key, on_click="ignore")


def _range(lo: int, hi: int) -> str:
    """Said in the visitor's language next to the field: Streamlit's own range error is English only."""
    return tr("builtin.range", lo=f"{lo:,}", hi=f"{hi:,}")


def _num_labels(model) -> int:
    return int(getattr(getattr(model, "config", None), "num_labels", 2) or 2)


def render_reproduce(task: str, num_labels: int, options: EmbeddingOptions, sample: TextDataset | None,
                     key: str) -> None:
    """The analysis as a copyable script (the same one the adapter zip holds), and the sample it reads."""
    with st.expander(tr("analyzepage.reproduce")):
        st.caption(tr("analyzepage.reproduce_howto", tol=f"{SILHOUETTE_TOLERANCE:g}"))
        script = analysis_script(task, num_labels, options)
        st.code(script, language="python")
        c1, c2 = st.columns(2)
        c1.download_button(tr("analyzepage.dl_script"), script.encode("utf-8"), SCRIPT_FILE, "text/x-python",
                           key=f"{key}.dl_script", on_click="ignore")
        if sample is not None:
            c2.download_button(tr("analyzepage.dl_sample"), sample_jsonl(sample).encode("utf-8"), SAMPLE_FILE,
                               "application/jsonl", key=f"{key}.dl_sample", on_click="ignore")


def render_delta(model, task: str, key: str) -> None:
    st.markdown(f"### {tr('analyzepage.delta')}")
    with st.expander(tr("analyzepage.explain")):
        st.markdown(tr("analyzepage.explain_erank"))
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
    ratios = {tr(f"col.{c}"): "ratio" for c in ("scaling", "delta_norm", "weight_norm", "ratio", "effective_rank",
                                                  "rank_share", "magnitude_shift", "sigma_1")}
    st.dataframe(display_columns(frame, lang()), hide_index=True, width="stretch", height=300,
                 column_config=number_columns(**ratios))
    c1, c2, c3 = st.columns(3)
    c1.download_button(tr("analyzepage.table_csv"), frame.to_csv(index=False).encode("utf-8"), "delta_w.csv",
                       "text/csv", key=f"{key}.csv", on_click="ignore")
    with c2:
        _html_button(heat, "analyzepage.heat_html", "delta_ratio_heatmap", f"{key}.heat_html")
    with c3:
        _html_button(erank, "analyzepage.erank_html", "effective_rank", f"{key}.erank_html")
    st.caption(tr("analyzepage.png_hint"))
    render_reproduce(task, _num_labels(model), EmbeddingOptions(method="tsne"), None, f"{key}.code")


def dataset_for(task: str, own: TextDataset | None, key: str) -> TextDataset | None:
    names = ([own.name] if own is not None else []) + [n for n, i in BUNDLED.items() if "seq-cls" in i.tasks]
    pick = st.selectbox(tr("analyzepage.data"), list(dict.fromkeys(names)), key=f"{key}.data",
                        format_func=lambda n: BUNDLED[n].display_name(lang()) if n in BUNDLED else n)
    if own is not None and pick == own.name:
        return own
    return guarded(lambda: load_bundled(pick, "seq-cls"))


def render_embeddings(model, tokenizer, ds: TextDataset, model_id: str, task: str, key: str) -> None:
    st.markdown(f"### {tr('analyzepage.emb')}")
    with st.expander(tr("analyzepage.explain")):
        st.markdown(tr("analyzepage.explain_scores"))
        st.markdown(tr("analysis.tsne_howto"))
    seeds = {"n": min(300, len(ds)), "method": "tsne", "perp": 30.0, "seed": 0, "layer": -1, "pool": "mean", "go": False}
    for name, value in seeds.items():  # kept in the workspace: a language switch or a reload keeps them
        bind(f"{key}.{name}", value)
    c = st.columns(6)
    n = c[0].number_input(tr("analyzepage.sample"), 10, 5000, key=f"{key}.n", help=_range(10, 5000))
    method = c[1].selectbox(tr("analyzepage.method"), ("tsne", "pca"), key=f"{key}.method",
                            format_func=lambda m: "t-SNE" if m == "tsne" else "PCA")
    perplexity = c[2].number_input(tr("analyzepage.perplexity"), 2.0, 200.0, key=f"{key}.perp", help=_range(2, 200))
    seed = c[3].number_input(tr("analyzepage.seed"), 0, 10_000, key=f"{key}.seed", help=_range(0, 10_000))
    layer = c[4].number_input(tr("analyzepage.layer"), -100, 200, key=f"{key}.layer", help=_range(-100, 200))
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
    _html_button(fig, "analyzepage.scatter_html", f"embeddings_{method}", f"{key}.scatter_html")
    render_reproduce(task, _num_labels(model), options, report.sample, f"{key}.code")


def _report(model, tokenizer, ds: TextDataset, options: EmbeddingOptions, model_id: str) -> EmbeddingReport:
    """The shared pipeline; on this page a sample that cannot be scored is an error, shown by ``guarded``."""
    report = embedding_report(model, tokenizer, ds, options, model_id=model_id, projector=_project)
    if report.scores_error is not None:
        raise report.scores_error
    return report


def _render_scores(scores: dict, key: str) -> None:
    before, after = scores["before"], scores["after"]
    m = st.columns(4)
    m[0].metric(f"{tr('analyzepage.silhouette')} · {tr('analyzepage.before')}", ratio(before.silhouette))
    m[1].metric(f"{tr('analyzepage.silhouette')} · {tr('analyzepage.after')}", ratio(after.silhouette),
                delta=f"{after.silhouette - before.silhouette:+.3f}")
    m[2].metric(f"{tr('analyzepage.knn')} · {tr('analyzepage.before')}", percent(before.knn_accuracy, 1))
    m[3].metric(f"{tr('analyzepage.knn')} · {tr('analyzepage.after')}", percent(after.knn_accuracy, 1),
                delta=tr("analyzepage.pp", d=f"{100 * (after.knn_accuracy - before.knn_accuracy):+.1f}"))
    frame = pd.DataFrame([{"space": k, "silhouette": v.silhouette, "knn_accuracy": v.knn_accuracy, "k": v.k}
                          for k, v in scores.items()])
    st.download_button(tr("analyzepage.scores_csv"), frame.to_csv(index=False).encode("utf-8"), "scores.csv",
                       "text/csv", key=f"{key}.scores_csv", on_click="ignore")
