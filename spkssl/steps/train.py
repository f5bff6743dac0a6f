"""Step: what one round trains on, as the trainer's options (``spkssl train --exp E --round R``).

:func:`round_training` turns the round's :class:`~spkssl.experiment.TrainPlan` into the
config and :class:`~spkssl.training.trainer.TrainOptions` fields that stand-alone
``spkssl train --cuts ... --objective ...`` builds from its flags; both then run the
same :func:`spkssl.training.trainer.train`.

Usage (what ``run.sh`` does through the command)::

    cfg, opts = round_training(Experiment("exp/mini"), 1); train(cfg, TrainOptions(**opts))
"""
from __future__ import annotations

from typing import Any

from spkssl.experiment import Experiment, ExperimentError
from spkssl.utils.logging import get_logger

log = get_logger(__name__)


def round_training(exp: Experiment, r: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(config, trainer options)`` of round ``r``, checked before any training.

    Raises:
        ExperimentError: the stored features differ from the config, or the round's cut set
            or starting model does not exist yet (the message says what to run first).
    """
    exp.check_stored_features()  # before any training: extraction will read them
    plan = exp.train_plan(r)
    if not plan.cuts.is_file():
        how = f"spkssl cluster --exp {exp.root} --round {r}" if r else "the data stages of run.sh"
        raise ExperimentError(f"round {r} trains on {plan.cuts}, which does not exist yet: run {how} first")
    if plan.init_from is not None and not plan.init_from.is_file():
        raise ExperimentError(f"round {r} starts from {plan.init_from} (rounds.init_from), "
                              "which does not exist: train the previous round first")
    log.info("round %d: %s on %s (%s labels), %d epochs%s%s%s", r, plan.objective, plan.cuts, plan.labels,
             plan.epochs, f", starting from {plan.init_from}" if plan.init_from else "",
             f", the network frozen for {plan.freeze_network_epochs:g} epoch(s)" if plan.freeze_network_epochs else "",
             f", audio from the shards of {plan.shar}" if plan.shar else "")
    opts = dict(objective=plan.objective, cuts=str(plan.cuts), out_dir=str(plan.out_dir),
                aug_dir=str(plan.aug_dir) if plan.aug_dir else None,
                init_from=str(plan.init_from) if plan.init_from else None,
                shar=str(plan.shar) if plan.shar else None, freeze_network_epochs=plan.freeze_network_epochs)
    return exp.train_config(plan), opts
