"""Bundled resources: the default model, its metadata and the default classes."""
