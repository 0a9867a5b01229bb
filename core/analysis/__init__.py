"""What an adapter learned: ΔW anatomy and embeddings before/after."""
