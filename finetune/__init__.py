"""Learning from logged conversations: import, clean, anonymise, fine-tune, evaluate, gate, serve.

Cheap to import: torch, sentence-transformers, FAISS and peft load only inside the functions and
`load()` methods that need them, so the CLI and the action server import this package quickly.
"""
