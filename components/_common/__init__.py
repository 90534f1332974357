"""Shared, resource-free helpers: naming, tags and labels, regions, the GPU contract and validation."""
