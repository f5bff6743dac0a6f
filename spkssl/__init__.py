"""spkssl — iterative self-supervised speaker embedding learning.

Round 0 trains a speaker network contrastively without labels; later rounds
cluster the embeddings into pseudo speakers and retrain with a classification
loss.  See ``README.md`` and ``egs/*/run.sh``.
"""

__version__ = "0.1.0"
