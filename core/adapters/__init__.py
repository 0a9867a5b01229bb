"""Adapters: zip I/O, model card, export, loading an uploaded adapter."""
