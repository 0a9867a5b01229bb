"""The only streamlit code outside pages/: state accessors, cached resources, shared widgets."""
