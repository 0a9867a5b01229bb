"""What the user chooses and what it costs: plan (-> LoraConfig), presets and the one default plan, budget, memory, comparison."""
