"""Speaker-embedding extraction (trained models or the log-mel-stats baseline) and embedding IO.

Example:
    >>> from spkssl.embed.io import read_embeddings, write_embeddings
"""
