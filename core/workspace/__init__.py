"""The visitor's workspace: saved plans, runs and preferences, persisted in one SQLite file."""
