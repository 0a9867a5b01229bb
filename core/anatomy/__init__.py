"""What a model is made of: the layer inventory, the one table of module names, and what each module does."""
