"""What a model is made of: inventory, roles, presets and the one default plan."""
