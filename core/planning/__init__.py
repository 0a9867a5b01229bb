"""What the user chooses and what it costs: plan, budget, memory, comparison."""
