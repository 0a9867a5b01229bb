"""Where a model comes from: spec and task vocabulary, catalog, embedded weights, the Hub helper, configs, the meta build."""
