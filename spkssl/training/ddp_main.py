"""``torchrun`` entry point: ``torchrun --nproc_per_node N -m spkssl.training.ddp_main <spkssl train options>``.

Each process runs the ``spkssl train`` command; :func:`spkssl.training.ddp.init_distributed`
picks up the torchrun environment (NCCL on CUDA, gloo on CPU) and only rank 0
writes files or logs at INFO level.

Example::

    torchrun --nproc_per_node 2 -m spkssl.training.ddp_main --config exp/t/config.yaml \\
        --cuts data/manifests/train_cuts.jsonl.gz --out-dir exp/t/round0 --mode contrastive
"""
from __future__ import annotations

import os


def main() -> None:
    """Run ``spkssl train`` in this torchrun process."""
    import logging

    from spkssl.cli.train import train_command
    from spkssl.utils.logging import setup_logging

    setup_logging("INFO")
    if int(os.environ.get("RANK", "0")) != 0:
        # On the package logger, not the root: get_logger() resets the root level on each call.
        logging.getLogger("spkssl").setLevel(logging.WARNING)
    train_command.main(prog_name="spkssl.training.ddp_main")


if __name__ == "__main__":
    main()
