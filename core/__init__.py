"""LoRA Lens core: pure, typed logic. Never imports streamlit."""
