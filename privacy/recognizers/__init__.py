"""The engine's recognisers: Presidio's configured ones (library.py) and our own (numbers.py, text.py)."""
