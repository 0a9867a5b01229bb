"""The command line (python -m core / lora-lens): one file per command."""
