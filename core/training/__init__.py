"""Training: settings, recipe, engine, callback, run state, jobs, playground."""
