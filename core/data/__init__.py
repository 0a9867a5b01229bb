"""Datasets: the data model, bundled corpora, uploads, Hub datasets, splits."""
