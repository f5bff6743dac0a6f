"""What used to give a wrong answer without an error: each is now a clear error or a correct result.

Embeddings of another model, a folder holding another model's embeddings, silence verified as a
speaker, an empty wav.scp; a killed ``spkssl embed`` resumes; outputs and devices are checked
before any work, with a one-line error and no traceback.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from spkssl.config import with_defaults
from spkssl.cli import cli
from spkssl.models import build_model
from spkssl.models.io import save_final_model

MODEL = with_defaults("model", {"name": "tdnn", "embed_dim": 8, "kwargs": {"channels": 16}})


def _model(path: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_final_model(path, build_model(MODEL, 80), {"model": MODEL, "features": {"num_mel_bins": 80}})
    return path


@pytest.fixture
def two_models(tmp_path: Path) -> tuple[Path, Path]:
    return _model(tmp_path / "m1" / "final.pt", 0), _model(tmp_path / "m2" / "final.pt", 1)


def _speech(folder: Path, n: int, seconds: float = 1.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for k in range(n):
        sf.write(folder / f"u{k:03d}.wav", 0.1 * rng.standard_normal(int(16000 * seconds)), 16000)
    return folder


def test_verify_refuses_embeddings_of_another_model(tmp_path, two_models) -> None:
    m1, m2 = two_models
    wav = _speech(tmp_path / "wav", 4)
    run = CliRunner().invoke
    assert run(cli, ["embed", str(m2), str(wav), "--out-dir", str(tmp_path / "e2")]).exit_code == 0
    (tmp_path / "t").write_text("u000 u001 target\nu002 u003 nontarget\n")
    r = run(cli, ["verify", str(m1), "--trials", str(tmp_path / "t"), "--embeddings", str(tmp_path / "e2")])
    assert r.exit_code == 1, r.output
    assert f"holds embeddings made by model {m2}" in r.output and f"not by model {m1}" in r.output
    r = run(cli, ["verify", str(m2), "--trials", str(tmp_path / "t"), "--embeddings", str(tmp_path / "e2")])
    assert r.exit_code == 0, r.output  # its own model's: scored


def test_embed_refuses_a_folder_of_another_model_and_force_redoes_it(tmp_path, two_models) -> None:
    from spkssl.embed.provenance import read_provenance

    m1, m2 = two_models
    wav = _speech(tmp_path / "wav", 3)
    out = tmp_path / "emb"
    run = CliRunner().invoke
    assert run(cli, ["embed", str(m1), str(wav), "--out-dir", str(out)]).exit_code == 0
    r = run(cli, ["embed", str(m2), str(wav), "--out-dir", str(out)])
    assert r.exit_code == 1 and f"holds embeddings made by model {m1}" in r.output and "--force true" in r.output
    assert read_provenance(out).model == str(m1)  # nothing was touched
    r = run(cli, ["embed", str(m1), str(wav), "--out-dir", str(out)])
    assert r.exit_code == 0 and "already holds the embeddings" in r.output  # the same request: skipped
    r = run(cli, ["embed", str(m2), str(wav), "--out-dir", str(out), "--force", "true"])
    assert r.exit_code == 0 and read_provenance(out).model == str(m2)


def test_silence_is_an_error_naming_the_file_not_a_same_speaker_decision(tmp_path, two_models) -> None:
    m1, _ = two_models
    wav = _speech(tmp_path / "wav", 1)
    sf.write(tmp_path / "silence.wav", np.zeros(16000, np.float32), 16000)
    r = CliRunner().invoke(cli, ["verify", str(m1), str(tmp_path / "silence.wav"), str(wav / "u000.wav")])
    assert r.exit_code == 1 and "silence.wav: no speech found" in r.output, r.output
    r = CliRunner().invoke(cli, ["embed", str(m1), str(tmp_path / "silence.wav"), "--out-dir", str(tmp_path / "e")])
    assert r.exit_code == 1 and "silence.wav: no speech found" in r.output
    assert not (tmp_path / "e" / "embeddings.npz").exists()


def test_an_empty_wav_scp_is_an_error_and_writes_no_manifest(tmp_path) -> None:
    (tmp_path / "kd").mkdir()
    (tmp_path / "kd" / "wav.scp").write_text("")
    r = CliRunner().invoke(cli, ["prepare", "kaldi-dir", str(tmp_path / "kd"), str(tmp_path / "m"), "--prefix", "x"])
    assert r.exit_code == 1 and "wav.scp: no recordings in it" in r.output
    assert not list((tmp_path / "m").glob("*.jsonl.gz")) if (tmp_path / "m").exists() else True


def test_a_killed_embed_resumes_with_the_rest_and_writes_what_an_uninterrupted_run_writes(tmp_path, two_models) -> None:
    m1, _ = two_models
    wav = _speech(tmp_path / "wav", 60, seconds=2.0)
    base = [sys.executable, "-c", "from spkssl.cli import cli; cli()", "embed", str(m1), str(wav),
            "--set", "infer.part_size=4", "--out-dir"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    whole = subprocess.run([*base, str(tmp_path / "whole")], capture_output=True, text=True, env=env, timeout=300)
    assert whole.returncode == 0, whole.stderr[-2000:]
    out = tmp_path / "killed"
    proc = subprocess.Popen([*base, str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 120
    while not (out / "parts" / "part-00002.npz").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    parts = len(list((out / "parts").glob("part-*.npz")))
    assert 3 <= parts < 15 and not (out / "embeddings.npz").exists(), parts  # killed part-way
    again = subprocess.run([*base, str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"({4 * parts} from the parts of an earlier run)" in again.stdout, again.stdout
    for name in ("embeddings.npz", "xvector.ark", "xvector.scp", "provenance.json"):
        a, b = (tmp_path / "whole" / name).read_bytes(), (out / name).read_bytes()
        assert a.replace(str(tmp_path / "whole").encode(), b"") == b.replace(str(out).encode(), b""), name
    assert not (out / "parts").exists()


def test_extraction_into_a_folder_of_another_system_is_refused(tmp_path, two_models) -> None:
    from lhotse import CutSet, Recording

    from spkssl.config import load_config
    from spkssl.embed.extract import ExtractionError
    from spkssl.embed.jobs import embed_cutset

    m1, m2 = two_models
    wav = _speech(tmp_path / "wav", 2)
    cuts = tmp_path / "cuts.jsonl.gz"
    CutSet.from_cuts(Recording.from_file(p).to_cut() for p in sorted(wav.iterdir())).to_file(cuts)
    cfg = load_config(None, ["extract.device=cpu"])
    assert embed_cutset(m1, cuts, tmp_path / "e", cfg) is True
    assert embed_cutset(m1, cuts, tmp_path / "e", cfg) is False  # the same: skipped
    with pytest.raises(ExtractionError, match=f"made by model {m1}.*not by model {m2}.*--force true"):
        embed_cutset(m2, cuts, tmp_path / "e", cfg)
    assert embed_cutset(m2, cuts, tmp_path / "e", cfg, force=True) is True


# Every command with an output, pointed below a file: refused when the command line is read.
OUTPUTS = [
    ["embed", "{model}", "{wav}", "--out-dir", "{bad}"],
    ["verify", "{model}", "--trials", "{trials}", "--embeddings", "{emb}", "--out", "{bad}"],
    ["export", "{model}", "--format", "torchscript", "--out", "{bad}/m.ts"],
    ["score", "--trials", "{trials}", "--embeddings", "{emb}", "--out-dir", "{bad}", "--name", "t"],
    ["compute-metrics", "{trials}", "{trials}", "--json", "{bad}/m.json"],
    ["config", "resolve", "{conf}", "{bad}/config.yaml"],
    ["prepare", "kaldi-dir", "{kaldi}", "{bad}", "--prefix", "x"],
    ["synth", "{bad}"],
    ["extract", "--model", "{model}", "--cuts", "{trials}", "--out-dir", "{bad}"],
    ["cluster", "--embeddings", "{emb}", "--cuts", "{trials}", "--out-dir", "{bad}"],
    ["train", "--cuts", "{trials}", "--objective", "dino", "--out-dir", "{bad}"],
    ["compute-fbank", "{trials}", "{bad}/c.jsonl.gz", "--storage-dir", "{bad}"],
]


@pytest.mark.parametrize("argv", OUTPUTS, ids=lambda a: " ".join(a[:2]))
def test_an_unwritable_output_is_a_one_line_usage_error_before_any_work(argv, tmp_path, two_models) -> None:
    m1, _ = two_models
    wav = _speech(tmp_path / "wav", 2)
    (tmp_path / "afile").write_text("")
    (tmp_path / "t").write_text("u000 u001 target\n")
    (tmp_path / "kd").mkdir()
    (tmp_path / "kd" / "wav.scp").write_text(f"u000 {wav / 'u000.wav'}\n")
    values = dict(model=m1, wav=wav, bad=tmp_path / "afile" / "out", trials=tmp_path / "t", emb=tmp_path / "t",
                  conf=Path(__file__).resolve().parents[2] / "egs" / "mini" / "conf" / "mini.yaml", kaldi=tmp_path / "kd")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    r = CliRunner().invoke(cli, [a.format(**values) for a in argv])
    assert r.exit_code == 2, r.output
    assert "cannot write" in r.output and "afile is a file, not a folder" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)  # no traceback
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no work done


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("argv", [["embed", "{model}", "{wav}", "--out-dir", "{out}"],
                                  ["verify", "{model}", "{wav}/u000.wav", "{wav}/u001.wav"],
                                  ["extract", "--model", "{model}", "--cuts", "{wav}/u000.wav", "--out-dir", "{out}"],
                                  ["train", "--cuts", "{wav}/u000.wav", "--objective", "dino", "--out-dir", "{out}"]],
                         ids=lambda a: a[0])
def test_a_gpu_this_machine_lacks_is_a_usage_error_before_any_work(argv, tmp_path, two_models) -> None:
    m1, _ = two_models
    wav = _speech(tmp_path / "wav", 2)
    values = dict(model=m1, wav=wav, out=tmp_path / "out")
    r = CliRunner().invoke(cli, [a.format(**values) for a in argv] + ["--device", "cuda"])
    assert r.exit_code == 2 and "device 'cuda': this machine has no usable CUDA GPU" in r.output, r.output
    assert not (tmp_path / "out").exists()


def test_verify_out_reads_in_compute_metrics_and_an_unused_key_is_named(tmp_path, two_models) -> None:
    m1, _ = two_models
    wav = _speech(tmp_path / "wav", 4)
    run = CliRunner().invoke
    (tmp_path / "t").write_text("u000 u001 target\nu002 u003 nontarget\nu000 u002 nontarget\n")
    r = run(cli, ["verify", str(m1), "--trials", str(tmp_path / "t"), "--audio", str(wav), "--out",
                  str(tmp_path / "d.txt"), "--set", "features.num_mel_bins=40"])
    assert r.exit_code == 0 and "features.num_mel_bins=40: not used here" in r.output, r.output
    decisions = tmp_path / "decisions.txt"  # what verify --out writes for a model with a threshold
    decisions.write_text("u000 u001 0.9 accept\nu002 u003 0.1 reject\nu000 u002 0.2 reject\n")
    r = run(cli, ["compute-metrics", str(decisions), str(tmp_path / "t")])
    assert r.exit_code == 0 and "trials: 3 (1 target, 2 nontarget)" in r.output, r.output
    r = run(cli, ["verify", str(m1), str(wav / "u000.wav"), str(wav / "u001.wav"), "--backend", "plda2"])
    assert r.exit_code == 1 and "unknown scoring back-end 'plda2'; known: asnorm, cosine, plda, whiten" in r.output


def test_verify_skip_missing_leaves_out_and_counts_trials_without_audio(tmp_path, two_models) -> None:
    m1, _ = two_models
    wav = _speech(tmp_path / "wav", 3)
    (tmp_path / "t").write_text("u000 u001 target\nu000 u002 nontarget\nu000 gone nontarget\n")
    args = ["verify", str(m1), "--trials", str(tmp_path / "t"), "--audio", str(wav)]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1 and "gone" in r.output and "Traceback" not in r.output, r.output
    r = CliRunner().invoke(cli, [*args, "--skip-missing", "true"])
    assert r.exit_code == 0 and "skipped 1 trial(s)" in r.output and "trials: 2 " in r.output, r.output


MISSING_INPUTS = [
    ["embed", "{missing}", "{wav}", "--out-dir", "{out}"],
    ["verify", "{model}", "{missing}", "{missing}"],
    ["export", "{missing}"],
    ["info", "{missing}"],
    ["score", "--trials", "{missing}", "--embeddings", "{missing}", "--out-dir", "{out}", "--name", "t"],
    ["compute-metrics", "{missing}", "{missing}"],
    ["config", "resolve", "{missing}", "{out}/c.yaml"],
    ["prepare", "kaldi-dir", "{missing}", "{out}", "--prefix", "x"],
    ["prepare", "trials", "{missing}", "{out}/t", "--cuts", "{model}"],
    ["extract", "--model", "{model}", "--cuts", "{missing}", "--out-dir", "{out}"],
    ["cluster", "--embeddings", "{missing}", "--cuts", "{missing}", "--out-dir", "{out}"],
    ["train", "--cuts", "{missing}", "--objective", "dino", "--out-dir", "{out}"],
    ["compute-fbank", "{missing}", "{out}/c.jsonl.gz", "--storage-dir", "{out}"],
    ["report", "--exp", "{missing}"],
]


@pytest.mark.parametrize("argv", MISSING_INPUTS, ids=lambda a: " ".join(a[:2]))
def test_a_missing_input_is_a_one_line_usage_error_before_any_work(argv, tmp_path, two_models) -> None:
    m1, _ = two_models
    values = dict(model=m1, wav=_speech(tmp_path / "wav", 1), missing=tmp_path / "nope", out=tmp_path / "out")
    r = CliRunner().invoke(cli, [a.format(**values) for a in argv])
    assert r.exit_code == 2 and "does not exist" in r.output and str(tmp_path / "nope") in r.output, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)  # no traceback
    assert not (tmp_path / "out").exists()
