"""Synthetic multi-speaker speech corpus (numpy/scipy only, deterministic from a seed).

Example:
    >>> import numpy as np
    >>> from spkssl.synth import sample_voice, synthesize_utterance
    >>> x = synthesize_utterance(sample_voice(np.random.default_rng(0), "spk0001"),
    ...                          np.random.default_rng(1), 1.0, 16000)
    >>> len(x)
    16000
"""
from spkssl.synth.voice import Voice, sample_voice
from spkssl.synth.utterance import UtteranceConfig, synthesize_utterance
from spkssl.synth.corpus import CorpusSpec, generate_corpus, make_trials

__all__ = [
    "Voice", "sample_voice", "UtteranceConfig", "synthesize_utterance",
    "CorpusSpec", "generate_corpus", "make_trials",
]
