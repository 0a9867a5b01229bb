"""Colours and every plotly figure builder (pure: data in, figure out)."""
