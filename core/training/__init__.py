"""Training: settings, the recipe (also the exported script), the one weights loader, engine, callback, run state, jobs, playground, model card."""
