"""Retrieval engine: FAISS search over a company's knowledge base.

Cheap to import: the encoder, FAISS and BM25 load only inside the classes that need them
(`Encoder.load()`, `VectorIndex`, `Retriever.load()`), so `supportbot --help` and the action
server's import stay fast.
"""
