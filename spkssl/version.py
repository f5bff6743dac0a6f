"""The package version, in one place (``spkssl.__version__``, ``final.pt`` metadata, ``spkssl --version``)."""
__version__ = "0.1.0"
