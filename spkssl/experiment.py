"""An experiment folder, and everything that depends on the round number.

``exp/<tag>/config.yaml`` (written once by ``spkssl config resolve``) holds the
resolved config, including ``inputs``: where the recipe's data stages put the
corpus.  From it and a round number, :class:`Experiment` decides what the method
commands (``spkssl train/cluster/extract/score/report --exp ...``) read and write,
so no config value has to travel through the shell:

* **round 0** trains ``rounds.round0_objective``: ``contrastive`` (NT-Xent, no
  labels), ``dino`` (self-distillation, no labels), or ``supervised``, a
  classification on the cut set's true speakers (the reference, never the method).  An unlabelled round 0 trains ``train.round0_epochs`` epochs
  (0: ``train.epochs``), with ``rounds.round0_overrides`` (``a.b=v`` strings, e.g. DINO's
  own optimiser schedule) applied to its config.
* **round r >= 1** clusters round r-1's training embeddings into
  ``round<r>/pseudo/`` and trains ``rounds.objective`` on those pseudo labels (a
  classifier, or a classifier with round 0's DINO beside it) for
  ``train.epochs``, starting as ``rounds.init_from`` says: a new network
  (``scratch``), ``round0/final.pt`` (``round0``) or ``round<r-1>/final.pt``
  (``previous``); a round that starts from a network first trains its classifier
  alone for ``rounds.freeze_network_epochs``.  With ``rounds.round_labels=true_speakers`` the
  round's labels are the cut set's true speakers instead (a reference: perfect
  clusters with the rounds' schedule), written to the same ``round<r>/pseudo/``.
* a **system** is something that embeds and is scored: ``round<r>`` (its
  ``final.pt``) or ``baseline`` (untrained log-mel statistics).

Layout::

    exp/<tag>/config.yaml
    exp/<tag>/round<r>/{pseudo/, checkpoints/, tensorboard/, log/, final.pt, embeddings/{train,eval}/, scores/}
    exp/<tag>/baseline/{embeddings/{train,eval}/, scores/}

Example:
    >>> import tempfile, pathlib
    >>> from spkssl.config import load_config, save_config
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> save_config(load_config(None, ["train.round0_epochs=16", "train.epochs=8", "rounds.init_from=round0"]),
    ...             root / "config.yaml")
    >>> exp = Experiment(root)
    >>> p0, p2 = exp.train_plan(0), exp.train_plan(2)
    >>> (p0.objective, p0.epochs, p2.objective, p2.epochs, p2.cuts.name, p2.init_from.parent.name)
    ('contrastive', 16, 'classification', 8, 'cuts.jsonl.gz', 'round0')
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from spkssl.config import ConfigError, load_config, resolve_config
from spkssl.features.fbank import complete_fbank_cfg, fbank_cfg
from spkssl.features.provenance import FeatureMismatch, check_manifest

#: what ``rounds.round0_objective`` may say, and the training objective it means
ROUND0_OBJECTIVES = {"contrastive": "contrastive", "dino": "dino", "supervised": "classification"}
#: what ``rounds.init_from`` may say, and the round whose network round r starts from (None: a new one)
INIT_FROM: dict[str, Callable[[int], int | None]] = {
    "scratch": lambda r: None,
    "round0": lambda r: 0,
    "previous": lambda r: r - 1,
}
SYSTEM_RE = re.compile(r"^(baseline|round(\d+))$")


class ExperimentError(ValueError):
    """The experiment folder, its config or a round / system name is not usable (the message says why)."""


@dataclass(frozen=True)
class Inputs:
    """The corpus files the method stages read (``inputs`` section, resolved to paths)."""

    train_cuts: Path
    train_shar: Path | None
    embed_cuts: Path
    eval_cuts: Path
    aug_dir: Path | None
    trials: dict[str, Path]
    val_trials: dict[str, Path]


@dataclass(frozen=True)
class TrainPlan:
    """What ``spkssl train --exp E --round R`` trains."""

    round: int
    objective: str
    cuts: Path
    out_dir: Path
    epochs: int
    init_from: Path | None
    aug_dir: Path | None
    labels: str  # "none", "true" or "pseudo": which speaker labels the objective reads
    shar: Path | None = None  # shards holding the audio of ``cuts`` (inputs.train_shar)
    freeze_network_epochs: float = 0.0  # epochs during which only the classifier trains (a round with init_from)


@dataclass(frozen=True)
class System:
    """An embedder that is scored: a trained round or the untrained baseline."""

    name: str
    dir: Path
    model: Path | None  # final.pt; None for the baseline
    utt2spk: Path | None  # the labels it trained on (PLDA, speaker cohorts): pseudo, or true for the supervised reference

    @property
    def train_embeddings(self) -> Path:
        return self.dir / "embeddings" / "train"

    @property
    def eval_embeddings(self) -> Path:
        return self.dir / "embeddings" / "eval"

    @property
    def scores(self) -> Path:
        return self.dir / "scores"


class Experiment:
    """``exp/<tag>``: its resolved config and the paths and plans of its rounds.

    Args:
        root: the experiment folder (holds ``config.yaml``).
        overrides: ``a.b=v`` strings applied on top of ``config.yaml`` for this command only.

    Raises:
        ExperimentError: no ``config.yaml`` in ``root``.
        spkssl.config.ConfigError: the config names an unknown key.
    """

    def __init__(self, root: str | Path, overrides: Iterable[str] = ()) -> None:
        self.root = Path(root)
        self.config_path = self.root / "config.yaml"
        if not self.config_path.is_file():
            raise ExperimentError(
                f"{self.root}: no config.yaml; write it with `spkssl config resolve CONF {self.config_path}` "
                "(every run.sh does before its stages)"
            )
        self.overrides = tuple(overrides)
        self.cfg = load_config(self.config_path, self.overrides)
        self._round0_config()  # a bad rounds.round0_overrides entry fails every command, not only round 0's

    def _round0_config(self) -> dict[str, Any]:
        """This experiment's config with ``rounds.round0_overrides`` applied (what an unlabelled round 0 trains with)."""
        extra = self.cfg["rounds"]["round0_overrides"]
        if not isinstance(extra, list) or not all(isinstance(o, str) for o in extra):
            raise ExperimentError(f"config key 'rounds.round0_overrides' must be a list of 'a.b=v' strings, got {extra!r}")
        try:
            return resolve_config(None, extra, base=self.cfg)
        except ConfigError as exc:
            raise ExperimentError(f"config key 'rounds.round0_overrides': {exc}") from exc

    # ------------------------------------------------------------------ inputs
    def _path(self, key: str) -> Path:
        value = self.cfg["inputs"][key]
        if value in (None, ""):
            raise ExperimentError(f"config key 'inputs.{key}' is not set")
        path = Path(str(value))
        return path if path.is_absolute() else Path(str(self.cfg["inputs"]["data_dir"])) / path

    def _lists(self, key: str) -> dict[str, Path]:
        lists = self.cfg["inputs"][key] or {}
        if not isinstance(lists, dict):
            raise ExperimentError(f"config key 'inputs.{key}' must map list names to paths, got {lists!r}")
        out = {}
        for name, value in lists.items():
            path = Path(str(value))
            out[str(name)] = path if path.is_absolute() else Path(str(self.cfg["inputs"]["data_dir"])) / path
        return out

    @property
    def inputs(self) -> Inputs:
        """The corpus files of ``inputs``, relative paths resolved against ``inputs.data_dir``."""
        train = self._path("train_cuts")
        return Inputs(
            train_cuts=train,
            train_shar=self._path("train_shar") if self.cfg["inputs"]["train_shar"] else None,
            embed_cuts=self._path("embed_cuts") if self.cfg["inputs"]["embed_cuts"] else train,
            eval_cuts=self._path("eval_cuts"),
            aug_dir=self._path("aug_dir") if self.cfg["inputs"]["aug_dir"] else None,
            trials=self._lists("trials"),
            val_trials=self._lists("val_trials"),
        )

    def check_stored_features(self) -> None:
        """Refuse stored features (``inputs.embed_cuts``, ``inputs.eval_cuts``) made with other ``features`` options.

        ``data/`` is shared by every tag that names it; the ``features`` section belongs to
        each tag.  ``spkssl train`` and ``spkssl extract`` call this first, so a tag with,
        e.g., ``features.num_mel_bins=40`` on 80-bin features stops before round 0 trains.

        Raises:
            ExperimentError: naming the manifest, the differing keys and what to do.
        """
        wanted = {**complete_fbank_cfg(fbank_cfg(self.cfg["features"])), "backend": self.cfg["features"]["backend"]}
        inputs = self.inputs
        for manifest in dict.fromkeys((inputs.embed_cuts, inputs.eval_cuts)):
            try:
                check_manifest(manifest, wanted, str(self.config_path))
            except FeatureMismatch as exc:
                raise ExperimentError(str(exc)) from None

    # ------------------------------------------------------------------ rounds
    @property
    def num_rounds(self) -> int:
        """Pseudo-label rounds after round 0 (``rounds.num_rounds``)."""
        return self.cfg["rounds"]["num_rounds"]

    def round_dir(self, r: int) -> Path:
        return self.root / f"round{int(r)}"

    def _check_round(self, r: int) -> int:
        r = int(r)
        if not 0 <= r <= self.num_rounds:
            raise ExperimentError(f"round {r} is outside 0..{self.num_rounds} (rounds.num_rounds={self.num_rounds})")
        return r

    def train_plan(self, r: int) -> TrainPlan:
        """What round ``r`` trains: objective, cut set, epochs, warm start (see the module doc)."""
        r = self._check_round(r)
        epochs = self.cfg["train"]["epochs"]  # types and ranges: the specs in spkssl/configs/
        if r == 0:
            name = self.cfg["rounds"]["round0_objective"]
            supervised = name == "supervised"
            if not supervised:  # the supervised reference is a round on true labels: the rounds' budget
                epochs = self.cfg["train"]["round0_epochs"] or epochs
            return TrainPlan(0, ROUND0_OBJECTIVES[name], self.inputs.train_cuts, self.round_dir(0), epochs,
                             None, self.inputs.aug_dir, "true" if supervised else "none", self.inputs.train_shar)
        start = INIT_FROM[self.cfg["rounds"]["init_from"]](r)
        init = None if start is None else self.round_dir(start) / "final.pt"
        freeze = float(self.cfg["rounds"]["freeze_network_epochs"]) if init is not None else 0.0
        labels = "true" if self.cfg["rounds"]["round_labels"] == "true_speakers" else "pseudo"
        return TrainPlan(r, self.cfg["rounds"]["objective"], self.pseudo_dir(r) / "cuts.jsonl.gz", self.round_dir(r),
                         epochs, init, self.inputs.aug_dir, labels, self.inputs.train_shar, freeze)

    def train_config(self, plan: TrainPlan) -> dict[str, Any]:
        """The config a round trains with: this experiment's (with ``rounds.round0_overrides`` for an
        unlabelled round 0), ``train.epochs`` set to the plan's."""
        cfg = self._round0_config() if plan.round == 0 and plan.labels == "none" else copy.deepcopy(self.cfg)
        cfg["train"]["epochs"] = plan.epochs
        return cfg

    def pseudo_dir(self, r: int) -> Path:
        """Where the pseudo labels of round ``r`` (>= 1) go."""
        return self.round_dir(r) / "pseudo"

    def cluster_paths(self, r: int) -> tuple[Path, Path, Path]:
        """``(embeddings, cuts, out_dir)`` for clustering round r-1's training embeddings into round r's labels."""
        r = self._check_round(r)
        if r < 1:
            raise ExperimentError("round 0 has no pseudo labels: clustering makes the labels of rounds >= 1")
        emb = self.system(f"round{r - 1}").train_embeddings / "embeddings.npz"
        return emb, self.inputs.train_cuts, self.pseudo_dir(r)

    # ------------------------------------------------------------------ systems
    def system(self, name: str) -> System:
        """``baseline`` or ``round<r>``; the error names what is allowed."""
        match = SYSTEM_RE.match(str(name))
        if match is None:
            raise ExperimentError(f"unknown system '{name}': use 'baseline' or 'round<N>' (e.g. round0)")
        if match.group(1) == "baseline":
            return System("baseline", self.root / "baseline", None, None)
        r = self._check_round(int(match.group(2)))
        labels = self.pseudo_dir(r) / "utt2spk" if r >= 1 else None
        if r == 0 and self.train_plan(0).labels == "true":
            labels = self.round_dir(0) / "utt2spk"
        return System(f"round{r}", self.round_dir(r), self.round_dir(r) / "final.pt", labels)

    def systems(self) -> list[System]:
        """The baseline and every round, in order."""
        return [self.system("baseline")] + [self.system(f"round{r}") for r in range(self.num_rounds + 1)]
