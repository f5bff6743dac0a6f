"""The method's steps: one function per stage, from "this experiment, this round" to library calls.

This is the only layer that knows :class:`~spkssl.experiment.Experiment`; the library
packages (``scoring``, ``cluster``, ``embed``, ``training``, ``report``, ``inference`` and the
others) never import it or the CLI, and the ``spkssl`` method commands call only these steps.

- :mod:`spkssl.steps.score`: score every trial list of an experiment with one system
  (``spkssl score --exp E --system S``), each back-end fitted once.
"""
