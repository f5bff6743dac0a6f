"""``python -m spkssl.cli``: the same as the ``spkssl`` console script."""
from spkssl.cli import cli

if __name__ == "__main__":
    cli()
