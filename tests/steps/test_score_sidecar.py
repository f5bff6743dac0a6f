"""spkssl score --exp writes the verify sidecar beside final.pt; spkssl verify then reproduces the recipe's scores."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from spkssl.cli import cli
from spkssl.config import load_config, save_config, with_defaults
from spkssl.embed.io import write_embeddings
from spkssl.experiment import Experiment
from spkssl.models import build_model
from spkssl.models.io import save_final_model
from spkssl.steps.score import score_system


def _experiment(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, Path]:
    """exp/ with a baseline and a round 1 (a model, pseudo labels missing purified utterances), a test and a val list."""
    centres = rng.normal(size=(16, 12))
    spk = np.repeat(np.arange(16), 6)
    train_ids = [f"tr{s:02d}_{k}" for s in range(8) for k in range(6)]
    eval_ids = [f"te{s:02d}_{k}" for s in range(8, 16) for k in range(6)]
    emb = (centres[spk] + 0.5 * rng.normal(size=(96, 12))).astype(np.float32)
    pairs = lambda ids: "".join(f"{a} {b} {'target' if a[:4] == b[:4] else 'nontarget'}\n"  # noqa: E731
                                for i, a in enumerate(ids) for b in ids[i + 1:])
    data = tmp_path / "data"
    (data / "trials").mkdir(parents=True)
    (data / "trials" / "test.trials").write_text(pairs(eval_ids))
    (data / "trials" / "val.trials").write_text(pairs(train_ids))
    root = tmp_path / "exp"
    save_config(load_config(None, [f"inputs.data_dir={data}", "inputs.trials.test=trials/test.trials",
                                   "inputs.val_trials.val=trials/val.trials", "rounds.num_rounds=1",
                                   "score.backends=[cosine,whiten,asnorm,plda]", "score.asnorm.top_n=10",
                                   "score.plda.labels=trained"]), root / "config.yaml")
    for system in ("baseline", "round1"):
        write_embeddings(root / system / "embeddings" / "train", train_ids, emb[:48])
        write_embeddings(root / system / "embeddings" / "eval", eval_ids, emb[48:])
    (root / "round1" / "pseudo").mkdir()
    (root / "round1" / "pseudo" / "utt2spk").write_text(  # purification dropped two utterances per speaker
        "".join(f"{u} p{u[2:4]}\n" for u in train_ids if not u.endswith(("_4", "_5"))))
    model_cfg = with_defaults("model", {"name": "tdnn", "embed_dim": 12, "kwargs": {"channels": 16}})
    save_final_model(root / "round1" / "final.pt", build_model(model_cfg, 80),
                     {"model": model_cfg, "features": {"num_mel_bins": 80}})
    return root, data


def test_score_system_writes_what_verify_needs(tmp_path: Path, rng: np.random.Generator) -> None:
    root, data = _experiment(tmp_path, rng)
    exp = Experiment(root)
    score_system(exp, exp.system("baseline"))
    assert not (root / "baseline" / "verify.json").exists()  # no model, nothing to carry
    results = score_system(exp, exp.system("round1"))
    val = {r["backend"]: r for r in results if r["name"] == "val"}
    test = {r["backend"]: r for r in results if r["name"] == "test"}
    import json

    info = json.loads((root / "round1" / "verify.json").read_text())
    assert set(info["backends"]) == {"cosine", "whiten", "asnorm", "plda"} and info["default_backend"] == "cosine"
    for name, entry in info["backends"].items():
        assert entry["threshold"] == val[name]["thresholds"]["eer_kaldi"]
    for backend in ("cosine", "plda", "asnorm", "whiten"):
        r = CliRunner().invoke(cli, ["verify", str(root / "round1" / "final.pt"), "--trials",
                                     str(data / "trials" / "test.trials"), "--embeddings",
                                     str(root / "round1" / "embeddings" / "eval"), "--backend", backend,
                                     "--out", str(tmp_path / f"{backend}.txt")])
        assert r.exit_code == 0, r.output
        assert f"EER {test[backend]['eer']:.2f} %" in r.output and "false accepts" in r.output, r.output
        ours = np.loadtxt(tmp_path / f"{backend}.txt", usecols=2)
        recipe = np.loadtxt(root / "round1" / "scores" / f"test.{backend}.score", usecols=2)
        np.testing.assert_allclose(ours, recipe, atol=2e-6)


def test_each_backend_is_fitted_once_and_the_sidecar_scores_as_score_did(tmp_path: Path, rng: np.random.Generator,
                                                                         monkeypatch) -> None:
    """Two trial lists, four back-ends: PLDA trains once per system; verify's stored back-ends give the
    score files' text byte for byte, and reading the sidecar fits nothing."""
    from spkssl.inference.sidecar import read_verify_sidecar
    from spkssl.scoring.backends import BACKENDS
    from spkssl.scoring.io import write_scores
    from spkssl.scoring.trials import read_trials
    from spkssl.embed.io import read_embeddings

    fits: list[str] = []
    for name, cls in BACKENDS.items():
        original = cls.fit.__func__
        monkeypatch.setattr(cls, "fit", classmethod(lambda c, *a, _f=original, _n=name: (fits.append(_n), _f(c, *a))[1]))
    root, data = _experiment(tmp_path, rng)
    exp = Experiment(root)
    results = score_system(exp, exp.system("round1"))
    assert sorted(fits) == ["asnorm", "cosine", "plda", "whiten"]  # once each, for two lists
    assert {r["name"] for r in results} == {"test", "val"}
    fits.clear()
    side = read_verify_sidecar(root / "round1")
    for name in ("test", "val"):
        trials = read_trials(data / "trials" / f"{name}.trials")
        ids, emb = read_embeddings(root / "round1" / "embeddings" / ("eval" if name == "test" else "train"))
        e_idx, t_idx = trials.index(ids)
        for backend in ("cosine", "whiten", "asnorm", "plda"):
            ours = tmp_path / f"{name}.{backend}.score"
            write_scores(ours, trials, side.backend(backend).score(emb, emb, e_idx, t_idx))
            recipe = root / "round1" / "scores" / f"{name}.{backend}.score"
            assert ours.read_bytes() == recipe.read_bytes(), (name, backend)
    assert fits == []  # the sidecar stores the fitted objects: nothing is refitted
