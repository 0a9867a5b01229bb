"""Train-page figure builders: pure data in, plotly figure out, labelled in the visitor's language."""

from __future__ import annotations

import pytest

from core.charts.colors import BASE_COLOR, TRAIN_COLOR
from core.charts.train import label_probability_figure, loss_figure
from core.i18n import t


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_loss_figure_has_raw_smoothed_and_eval_curves(lang):
    fig = loss_figure([1, 2, 3], [3.0, 2.0, 2.5], [3.0, 2.6, 2.56], [2], [2.2], total_steps=10, lang=lang)
    names = [trace.name for trace in fig.data]
    assert names == [t("trainpage.loss", lang), t("trainpage.loss_smoothed", lang), t("trainpage.eval_loss", lang)]
    assert list(fig.data[1].y) == [3.0, 2.6, 2.56] and list(fig.data[2].x) == [2]
    assert fig.data[0].opacity < 1 and fig.data[0].line.color == fig.data[1].line.color == TRAIN_COLOR
    assert tuple(fig.layout.xaxis.range) == (0, 10)  # the whole run, so progress reads left to right
    assert fig.layout.yaxis.title.text == t("trainpage.chart_loss", lang)


def test_loss_figure_before_the_first_log():
    fig = loss_figure([], [], [], [], [], total_steps=0)
    assert len(fig.data) == 0 and tuple(fig.layout.xaxis.range) == (0, 1)


def test_label_probability_figure_groups_base_and_adapted():
    fig = label_probability_figure(["fresh", "rotten"], [0.5, 0.5], [0.9, 0.1], lang="ko")
    assert [trace.type for trace in fig.data] == ["bar", "bar"] and fig.layout.barmode == "group"
    base, adapted = fig.data
    assert base.name == t("trainpage.base", "ko") and adapted.name == t("trainpage.adapted", "ko")
    assert list(adapted.x) == ["fresh", "rotten"] and list(adapted.y) == [0.9, 0.1]
    assert base.marker.color == BASE_COLOR != adapted.marker.color
    assert tuple(fig.layout.yaxis.range) == (0, 1) and fig.layout.yaxis.tickformat == ".0%"
