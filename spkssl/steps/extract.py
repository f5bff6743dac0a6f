"""Step: embed an experiment's training and evaluation cuts with one system (``spkssl extract --exp E --system S``).

Usage (what ``run.sh`` does through the command)::

    extract_system(Experiment("exp/mini"), Experiment("exp/mini").system("round1"), nj=2)
"""
from __future__ import annotations

from spkssl.embed.extract import ExtractionError
from spkssl.embed.jobs import embed_cutset
from spkssl.experiment import Experiment, System
from spkssl.utils.logging import get_logger

log = get_logger(__name__)


def extract_system(exp: Experiment, system: System, *, nj: int = 1, cmd: str | None = None,
                 device: str | None = None, force: bool = False) -> None:
    """Embed the experiment's training cuts (``inputs.embed_cuts``) and evaluation cuts with ``system``.

    Raises:
        ExtractionError: a trained system has no ``final.pt`` yet.
        spkssl.experiment.ExperimentError: the stored features were made with other options.
    """
    exp.check_stored_features()
    if system.model is not None and not system.model.is_file():
        raise ExtractionError(f"{system.name} has no model {system.model}: train it first "
                              f"(spkssl train --exp {exp.root} --round {system.name[len('round'):]})")
    for cuts, out in ((exp.inputs.embed_cuts, system.train_embeddings), (exp.inputs.eval_cuts, system.eval_embeddings)):
        log.info("embedding %s with %s into %s", cuts, system.name, out)
        embed_cutset(system.model, cuts, out, exp.cfg, nj=nj, cmd=cmd, device=device, force=force,
                     config_path=exp.config_path, overrides=exp.overrides)
