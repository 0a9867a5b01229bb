"""Where a model comes from: spec, catalog, embedded weights, Hub, meta build, the one loader."""
