"""The one place numbers become text: counts, shares, learning rates, plurals and table column formats."""

from __future__ import annotations

from core.i18n import human_bytes, human_count, t

__all__ = ["COLUMN_FORMATS", "compact", "count_phrase", "exact", "human_bytes", "learning_rate", "percent", "ratio", "spread"]

# Streamlit NumberColumn formats by kind of column (a string, so core stays free of streamlit):
# counts keep their exact value, with thousands separators in the visitor's locale.
COLUMN_FORMATS: dict[str, str] = {
    "count": "localized", "share": "percent", "percent_units": "%.4f%%", "lr": "%.2e", "ratio": "%.4g",
}


def exact(n: float) -> str:
    """Every digit, with thousands separators: 30,064,771,072."""
    return f"{int(n):,}" if float(n).is_integer() else f"{n:,}"


def compact(n: float, lang: str) -> str:
    """Short counts: 30.06B in English, 300.6억 in Korean (the exact value belongs on hover or in a column)."""
    return human_count(n, lang)


def percent(share: float, digits: int | None = None) -> str:
    """A share of 0..1 as a percentage; small shares keep enough digits to be non-zero (0.0123%)."""
    if digits is None:
        digits = 2 if share == 0 or abs(share) >= 0.01 else 4
    return f"{100 * share:.{digits}f}%"


def learning_rate(lr: float | None) -> str:
    """Learning rates in scientific notation (1.00e-03), never a rounded 0.00000."""
    return "-" if lr is None else f"{lr:.2e}"


def ratio(x: float) -> str:
    """Dimensionless values (scaling, silhouette, ‖ΔW‖/‖W‖) with four significant digits."""
    return f"{x:.4g}"


def spread(values: tuple, fmt=str) -> str:
    """Distinct values of a group (rank_pattern can give one module group several): "8", "4, 16", "2 … 64"."""
    if len(values) <= 3:
        return ", ".join(fmt(v) for v in values)
    return f"{fmt(values[0])} … {fmt(values[-1])}"


def count_phrase(key: str, n: int, lang: str) -> str:
    """``{n} thing(s)`` with the right plural: ``key + '_one'`` for 1, ``key + '_other'`` otherwise (ko has one form)."""
    return t(f"{key}_one" if n == 1 else f"{key}_other", lang, n=exact(n))
