"""core.format: every number the app shows, against Python's and PEFT's own counts."""

from __future__ import annotations

import pytest

from core.format import COLUMN_FORMATS, compact, count_phrase, exact, learning_rate, percent, ratio


@pytest.mark.parametrize(
    ("n", "text"), [(0, "0"), (7, "7"), (1234, "1,234"), (30064771072, "30,064,771,072"), (-5000, "-5,000")]
)
def test_exact_has_every_digit_with_separators(n, text):
    assert exact(n) == text and int(exact(n).replace(",", "")) == n


@pytest.mark.parametrize(
    ("n", "en", "ko"),
    [(134_515_008, "134.52M", "1.3억"), (30_064_771_072, "30.06B", "300.6억"), (6_800, "6.80K", "6,800"),
     (68_000, "68.00K", "6.8만")],
)
def test_compact_follows_the_language(n, en, ko):
    assert compact(n, "en") == en and compact(n, "ko") == ko


@pytest.mark.parametrize(("share", "text"), [(0.5, "50.00%"), (0.000123, "0.0123%"), (0, "0.00%"), (1, "100.00%")])
def test_percent_keeps_small_shares_non_zero(share, text):
    assert percent(share) == text


@pytest.mark.parametrize(("lr", "text"), [(0.001, "1.00e-03"), (2e-4, "2.00e-04"), (5e-5, "5.00e-05"), (None, "-")])
def test_learning_rate_is_scientific_never_rounded_to_zero(lr, text):
    assert learning_rate(lr) == text
    if lr is not None:
        assert float(learning_rate(lr)) == pytest.approx(lr)


def test_plurals_and_korean_counter():
    assert count_phrase("fmt.modules_adapted", 1, "en") == "1 module adapted"
    assert count_phrase("fmt.modules_adapted", 2, "en") == "2 modules adapted"
    assert count_phrase("fmt.modules_adapted", 1234, "en") == "1,234 modules adapted"
    assert count_phrase("fmt.modules_adapted", 1, "ko") == "1개 모듈에 적용"


def test_ratio_and_column_formats():
    assert ratio(2.0) == "2" and ratio(0.123456) == "0.1235"
    assert set(COLUMN_FORMATS) == {"count", "share", "percent_units", "lr", "ratio"}


def test_peft_count_reads_back_exactly():
    """The Configure metric's hover shows PEFT's own trainable count, digit for digit."""
    from peft import get_peft_model

    from core.models.meta import build_meta_model
    from core.models.sources import ModelSpec, load_config
    from core.planning.plan import LoraPlan, to_lora_config

    mc = load_config(ModelSpec("embedded", "smollm2"))
    n = get_peft_model(build_meta_model(mc), to_lora_config(LoraPlan(targets=("q_proj", "v_proj"), r=8)))
    trainable = n.get_nb_trainable_parameters()[0]
    assert int(exact(trainable).replace(",", "")) == trainable
