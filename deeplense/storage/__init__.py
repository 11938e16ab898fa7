"""Zarr v3 stores: per-shard parts, the combined dataset store, validation and provenance."""
