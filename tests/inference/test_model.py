"""load_model, the verify sidecar, and the embed / verify / export / info / score commands end to end on real speech."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from spkssl.config import with_defaults
from spkssl.cli import cli
from spkssl.embed.extract import extract_cuts, model_embedder
from spkssl.features.frontend import FeatureFrontend
from spkssl.inference.model import VerifyError, load_model
from spkssl.inference.sidecar import read_verify_sidecar, write_verify_sidecar
from spkssl.models import build_model
from spkssl.models.io import load_final_model, read_final_payload, save_final_model
from spkssl.scoring import TrainingSet, fit_backend, run_scoring
from spkssl.scoring.trials import read_trials

MODEL = with_defaults("model", {"name": "tdnn", "embed_dim": 16, "kwargs": {"channels": 32}})


@pytest.fixture
def final(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "round1" / "final.pt"
    path.parent.mkdir()
    save_final_model(path, build_model(MODEL, 80), {"model": MODEL, "features": {"num_mel_bins": 80, "cmn": False}},
                     extra={"objective": "classification"})
    return path


def test_final_pt_records_version_and_old_files_still_load(final: Path, tmp_path: Path) -> None:
    meta = read_final_payload(final)["spkssl"]
    assert meta["version"] == "0.1.0" and meta["git_commit"]
    payload = torch.load(final, weights_only=False)
    del payload["spkssl"]  # a file from before the metadata
    torch.save(payload, tmp_path / "old.pt")
    assert load_model(tmp_path / "old.pt").embed_dim == 16
    payload["state_dict"].pop(next(iter(payload["state_dict"])))
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(Exception, match="missing keys"):
        load_model(tmp_path / "bad.pt")  # still strict about weights


def test_embeddings_are_those_of_extraction(final: Path, speechocean_dir: Path) -> None:
    """spkssl embed on audio files gives spkssl extract's embeddings of the same cuts (the same front-end)."""
    from spkssl.data.kaldi_dir import import_kaldi_dir
    from spkssl.inference.sources import collect_items

    model = load_model(final)
    items = collect_items([speechocean_dir / "test"])[:4]
    _, _, cuts = import_kaldi_dir(speechocean_dir / "test")
    cuts = [c for c in cuts if c.id in {i.id for i in items}]
    net, cfg = load_final_model(final)
    _, want = extract_cuts(cuts, model_embedder(net), FeatureFrontend.from_config(cfg["features"]).deterministic(),
                           progress=False)
    got = model.embed_items(items)
    order = [c.id for c in cuts]
    np.testing.assert_allclose(got, np.stack([want[order.index(i.id)] for i in items]), atol=1e-5)
    wav = speechocean_dir / (speechocean_dir / "test" / "wav.scp").read_text().split()[1]
    np.testing.assert_allclose(model.embed_file(wav), got[0], atol=1e-6)


def _system_with_scores(tmp_path: Path, final: Path, rng: np.random.Generator):
    """A fake experiment whose system was scored on a validation list with every back-end."""
    spk = np.repeat(np.arange(12), 6)
    centres = rng.normal(size=(12, 16))
    emb = (centres[spk] + 0.6 * rng.normal(size=(72, 16))).astype(np.float32)
    ids = [f"u{i:02d}" for i in range(72)]
    from spkssl.embed.io import write_embeddings

    sysdir = final.parent
    write_embeddings(sysdir / "embeddings" / "train", ids, emb)
    (sysdir / "utt2spk").write_text("".join(f"{u} s{s}\n" for u, s in zip(ids, spk)))
    lines = [f"{ids[i]} {ids[j]} {'target' if spk[i] == spk[j] else 'nontarget'}\n"
             for i in range(0, 72, 5) for j in range(1, 72, 3) if i != j]
    (tmp_path / "val.trials").write_text("".join(lines))
    system = SimpleNamespace(name="round1", dir=sysdir, model=final, scores=sysdir / "scores",
                             train_embeddings=sysdir / "embeddings" / "train")
    exp = SimpleNamespace(inputs=SimpleNamespace(val_trials={"val": tmp_path / "val.trials"}),
                          cfg={"score": with_defaults("score", {
                              "mean_sub": True, "asnorm": {"top_n": 20, "cohort": "utterances"},
                              "whiten": {"floor": 0.3}, "plda": {"lda_dim": 8, "iterations": 5}})})
    trials = read_trials(tmp_path / "val.trials")
    npz = str(sysdir / "embeddings" / "train" / "embeddings.npz")
    results, fitted = [], {}
    for backend in ("cosine", "whiten", "asnorm", "plda"):
        sources = {"embeddings": npz, "train_embeddings": npz}
        train = TrainingSet(ids, emb)
        if backend in ("plda", "asnorm"):
            train = TrainingSet(ids, emb, {u: f"s{s}" for u, s in zip(ids, spk)})
            sources["train_utt2spk"] = str(sysdir / "utt2spk")
        fitted[backend] = fit_backend(backend, train, exp.cfg["score"])
        results.append(run_scoring(trials, ids, emb, fitted[backend], system.scores, "val", sources=sources))
    return exp, system, results, ids, emb, fitted


def _write_sidecar(exp, system, results, fitted):
    write_verify_sidecar(system.dir, system.name, system.model.name, results, fitted, exp.cfg["score"],
                         system.train_embeddings / "embeddings.npz")


def test_sidecar_reproduces_the_recipe_scores_and_carries_the_eer_threshold(tmp_path, final, rng) -> None:
    exp, system, results, ids, emb, fitted = _system_with_scores(tmp_path, final, rng)
    _write_sidecar(exp, system, results, fitted)
    side = read_verify_sidecar(final.parent)
    trials = read_trials(tmp_path / "val.trials")
    e_idx, t_idx = trials.index(ids)
    for r in results:
        entry = side.info["backends"][r["backend"]]
        assert entry["threshold"] == r["thresholds"]["eer_kaldi"]
        recipe = np.loadtxt(system.scores / f"val.{r['backend']}.score", usecols=2)
        np.testing.assert_allclose(side.backend(r["backend"]).score(emb, emb, e_idx, t_idx), recipe, atol=1e-6)
    # a later scoring of one back-end keeps the others
    _write_sidecar(exp, system, results[:1], fitted)
    assert sorted(read_verify_sidecar(final.parent).backends) == ["asnorm", "cosine", "plda", "whiten"]
    model = load_model(final)
    d = model.verify(emb[0], emb[1], backend="plda")
    assert d.backend == "plda" and d.threshold == side.info["backends"]["plda"]["threshold"]
    assert d.same_speaker == (d.score >= d.threshold) and "EER threshold of val" in d.threshold_source


def test_verify_without_a_sidecar_is_a_clear_error(final: Path) -> None:
    model = load_model(final)
    with pytest.raises(VerifyError, match="carries no verify threshold"):
        model.verify(np.ones(16), np.ones(16))
    with pytest.raises(ValueError, match="an embedding of shape"):
        model.score(np.ones(3), np.ones(16))


def test_commands_end_to_end(tmp_path, final, rng, speechocean_dir) -> None:
    """embed → verify (pair, labelled list with FA/FR, unlabelled list, enrolment) → export → info."""
    pytest.importorskip("onnxruntime", reason="the ONNX model needs onnxruntime")
    exp, system, results, _, _, fitted = _system_with_scores(tmp_path, final, rng)
    _write_sidecar(exp, system, results, fitted)
    test = speechocean_dir / "test"
    spk = dict(ln.split() for ln in (test / "utt2spk").read_text().splitlines())
    lines = (test / "wav.scp").read_text().splitlines()
    speakers = sorted({spk[ln.split()[0]] for ln in lines})[:2]
    lines = [ln for s in speakers for ln in lines if spk[ln.split()[0]] == s][:3] + \
        [ln for ln in lines if spk[ln.split()[0]] == speakers[1]][:3]
    utts = [ln.split()[0] for ln in lines]
    scp = tmp_path / "six.scp"
    scp.write_text("".join(ln.replace(" WAVE/", f" {speechocean_dir}/WAVE/") + "\n" for ln in lines))
    run = CliRunner().invoke
    r = run(cli, ["embed", str(final), str(scp), "--out-dir", str(tmp_path / "emb")])
    assert r.exit_code == 0, r.output
    assert "embedded 6 utterance(s)" in r.output and (tmp_path / "emb" / "xvector.scp").is_file()
    wav = str(speechocean_dir / (test / "wav.scp").read_text().split()[1])
    r = run(cli, ["verify", str(final), wav, wav])
    assert r.exit_code == 0 and "same speaker" in r.output and "EER threshold of val" in r.output, r.output
    labelled = tmp_path / "t.trials"
    labelled.write_text("".join(f"{a} {b} {'target' if spk[a] == spk[b] else 'nontarget'}\n"
                                for a in utts for b in utts if a < b))
    r = run(cli, ["verify", str(final), "--trials", str(labelled), "--audio", str(scp), "--backend", "plda",
                  "--out", str(tmp_path / "dec.txt")])
    assert r.exit_code == 0, r.output
    assert "EER" in r.output and "at the model's threshold: false accepts" in r.output and "false rejects" in r.output
    assert (tmp_path / "dec.txt").read_text().split("\n")[0].split()[-1] in ("accept", "reject")
    (tmp_path / "u.trials").write_text(f"{spk[utts[0]]} {utts[1]}\n{spk[utts[0]]} {utts[5]}\n")
    (tmp_path / "spk2utt").write_text(f"{spk[utts[0]]} {' '.join(u for u in utts if spk[u] == spk[utts[0]])}\n")
    r = run(cli, ["verify", str(final), "--trials", str(tmp_path / "u.trials"), "--embeddings", str(tmp_path / "emb"),
                  "--enroll", str(tmp_path / "spk2utt")])
    assert r.exit_code == 0 and "no target/nontarget labels" in r.output and "accepted:" in r.output, r.output
    r = run(cli, ["export", str(final), "--format", "onnx"])
    assert r.exit_code == 0 and final.with_suffix(".onnx").is_file(), r.output
    r = run(cli, ["embed", str(final.with_suffix(".onnx")), str(scp), "--out-dir", str(tmp_path / "emb_onnx")])
    assert r.exit_code == 0, r.output
    a, b = np.load(tmp_path / "emb" / "embeddings.npz"), np.load(tmp_path / "emb_onnx" / "embeddings.npz")
    assert np.abs(a["embeddings"] - b["embeddings"]).max() < 1e-3 * np.abs(a["embeddings"]).max()
    r = run(cli, ["info", str(final)])
    assert r.exit_code == 0, r.output
    for text in ("classification, round 1", "tdnn (embed_dim 16", "CMN off", "git commit", "val plda: EER",
                 "verify thresholds"):
        assert text in r.output, (text, r.output)
    r = run(cli, ["info", str(final.with_suffix(".onnx"))])
    assert r.exit_code == 0 and "(onnx)" in r.output and "exported:" in r.output, r.output


def test_bad_inputs_are_named(tmp_path, final) -> None:
    run = CliRunner().invoke
    (tmp_path / "x.wav").write_bytes(b"RIFF not really")
    r = run(cli, ["embed", str(final), str(tmp_path / "x.wav"), "--out-dir", str(tmp_path / "o")])
    assert r.exit_code != 0 and "x.wav: cannot read audio" in r.output
    import soundfile as sf

    sf.write(tmp_path / "quiet.wav", np.zeros(8000, np.float32), 8000)
    r = run(cli, ["embed", str(final), str(tmp_path / "quiet.wav"), "--out-dir", str(tmp_path / "o"),
                  "--set", "infer.resample=false"])
    assert r.exit_code != 0 and "quiet.wav: audio at 8000 Hz, the model expects 16000 Hz" in r.output
    r = run(cli, ["embed", str(final), str(tmp_path / "quiet.wav"), "--out-dir", str(tmp_path / "o"),
                  "--set", "infer.vad.name=energy"])
    assert r.exit_code != 0 and "quiet.wav: no speech found" in r.output, r.output
    r = run(cli, ["score", "--config", str(final), "--trials", str(tmp_path / "x.wav"), "--embeddings",
                  str(tmp_path / "x.wav"), "--out-dir", str(tmp_path), "--name", "n"])
    assert r.exit_code != 0 and f"{final} is a model file" in r.output, r.output
    (tmp_path / "garbage.onnx").write_bytes(b"\x00\x01 not a model")
    r = run(cli, ["info", str(tmp_path / "garbage.onnx")])
    assert r.exit_code != 0 and "garbage.onnx: not a model file spkssl reads" in r.output, r.output


def test_score_writes_scores_for_an_unlabelled_list(tmp_path) -> None:
    from spkssl.embed.io import write_embeddings

    write_embeddings(tmp_path / "e", ["a", "b", "c"], np.eye(3, 4, dtype=np.float32))
    (tmp_path / "t").write_text("a b\na c\n")
    r = CliRunner().invoke(cli, ["score", "--trials", str(tmp_path / "t"), "--embeddings", str(tmp_path / "e"),
                                 "--out-dir", str(tmp_path / "s"), "--name", "t", "--backend", "cosine"])
    assert r.exit_code == 0 and "scores only, no EER or minDCF" in r.output, r.output
    assert (tmp_path / "s" / "t.cosine.score").read_text().split() == ["a", "b", "0.000000", "a", "c", "0.000000"]
    assert not (tmp_path / "s" / "t.cosine.json").exists()
    assert json  # (the labelled form writes its JSON: tests/scoring)


def test_stereo_is_taken_as_the_import_takes_it_in_every_layout(final: Path, tmp_path: Path) -> None:
    """Channel 0 of a stereo file, as ``prepare kaldi-dir`` (and Kaldi) keep it; the Python API takes
    soundfile's ``[n, channels]``, torchaudio's ``[channels, n]`` and a mono ``[n]`` alike."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    left, right = (0.1 * rng.standard_normal(16000)).astype(np.float32), (0.3 * rng.standard_normal(16000)).astype(np.float32)
    sf.write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 16000)
    sf.write(tmp_path / "left.wav", left, 16000)
    m = load_model(final, infer={"require_speech": False})
    from_file = m.embed_file(tmp_path / "stereo.wav")
    np.testing.assert_allclose(from_file, m.embed_file(tmp_path / "left.wav"), atol=1e-6)
    read, rate = sf.read(tmp_path / "stereo.wav", dtype="float32")  # [n, 2]
    for layout in (read, read.T, torch.from_numpy(read.T.copy()), read[:, 0]):
        np.testing.assert_allclose(m.embed(layout, rate), from_file, atol=1e-6)
    mixed = load_model(final, infer={"require_speech": False, "channel": None}).embed(read, rate)
    assert not np.allclose(mixed, from_file, atol=1e-3)  # infer.channel=null mixes the channels instead
