"""spkssl export: TorchScript and ONNX graphs with the fbank front-end and CMN inside, for every model family.

Parity: an exported file's embedding of a waveform equals the PyTorch model's (``load_model(final.pt)``:
kaldi-native-fbank features, CMN, the network, extraction's chunking) within PARITY_REL, on real
speech (speechocean762) and on random noise, and the files run where spkssl cannot be imported.
Nothing is trained: the networks have random weights (with random batch-norm statistics).
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from spkssl.config import with_defaults
from spkssl.export import ExportError, export_model
from spkssl.inference.model import load_model
from spkssl.inference.sources import collect_items
from spkssl.models import MODELS, build_model
from spkssl.models.io import save_final_model

#: the stated tolerance: |e_export - e_torch| <= PARITY_REL * |e_torch| (L2 norms of the embeddings);
#: the torch fbank inside the graph differs from kaldi-native-fbank by float32 rounding only
#: (spkssl.features.torch_fbank.kaldi_tolerance); measured: below 2e-5 for every family
PARITY_REL = 1e-3
REPO = Path(__file__).resolve().parents[2]
FAMILIES = {
    "tdnn": {"name": "tdnn", "embed_dim": 32, "kwargs": {"channels": 32}},
    "ecapa": {"name": "ecapa", "embed_dim": 32, "kwargs": {"channels": 32, "mfa_channels": 48, "attention_dim": 16}},
    "resnet34": {"name": "resnet34", "embed_dim": 32, "kwargs": {"base_channels": 4, "num_blocks": [1, 1, 1, 1]}},
}


def _final(tmp: Path, model_cfg: dict, cmn: bool, chunk_seconds: float = 2.0) -> Path:
    torch.manual_seed(0)
    net = build_model(with_defaults("model", model_cfg), 80)
    for m in net.modules():  # untrained batch norm statistics would hide differences: make them non-trivial
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    cfg = {"model": model_cfg, "features": {"num_mel_bins": 80, "cmn": cmn}, "extract": {"chunk_seconds": chunk_seconds}}
    path = tmp / "final.pt"
    save_final_model(path, net, cfg)
    return path


pytestmark = pytest.mark.xdist_group("export")  # the trained models of the module's fixtures, built once


@pytest.fixture(scope="module")
def real_speech(speechocean_dir: Path) -> list[np.ndarray]:
    """Three test utterances of speechocean762 and their concatenation (longer than a 2 s chunk)."""
    model = load_model(_final_once(), {"vad": {"name": "none"}})
    items = collect_items([speechocean_dir / "test"])[:3]
    waves = [model.waveform(*i.read(), where=i.where) for i in items]
    return waves + [np.concatenate(waves)]


def _final_once() -> Path:
    import tempfile

    return _final(Path(tempfile.mkdtemp()), FAMILIES["tdnn"], True)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, tuple[Path, Path, Path]]:
    """Every family as ``final.pt``, exported both ways once (ECAPA without CMN: both settings of features.cmn)."""
    pytest.importorskip("onnxruntime", reason="ONNX parity needs onnxruntime (pip install -e '.[export]')")
    out = {}
    for family, model_cfg in FAMILIES.items():
        d = tmp_path_factory.mktemp(family)
        final = _final(d, model_cfg, cmn=family != "ecapa")
        out[family] = (final, export_model(final, "torchscript", d / "m.ts"), export_model(final, "onnx", d / "m.onnx"))
    return out


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_exports_match_the_pytorch_model_on_real_speech_and_noise(exported, family, real_speech) -> None:
    final, ts, ox = exported[family]
    ref = load_model(final)
    noise = [np.random.default_rng(s).uniform(-0.5, 0.5, n).astype(np.float32) for s, n in ((1, 16000), (2, 400))]
    for fmt, path in (("torchscript", ts), ("onnx", ox)):
        model = load_model(path)
        assert model.kind == fmt and model.embed_dim == 32
        for wave in real_speech + noise:
            want, got = ref.embed(wave, 16000), model.embed(wave, 16000)
            assert _rel(got, want) <= PARITY_REL, (family, fmt, wave.shape, _rel(got, want))


def test_exported_files_run_without_spkssl(tmp_path, exported, speechocean_dir) -> None:
    """A subprocess that cannot import spkssl runs both files with torch / onnxruntime alone."""
    final, ts, ox = exported["tdnn"]
    model = load_model(final)
    wave = model.waveform(*collect_items([speechocean_dir / "test"])[0].read())
    np.save(tmp_path / "wave.npy", wave)
    np.save(tmp_path / "want.npy", model.embed(wave, 16000))
    script = textwrap.dedent(f"""
        import sys, importlib.util
        sys.meta_path = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
        sys.path = [p for p in sys.path if not p.startswith({str(REPO)!r})]
        assert importlib.util.find_spec("spkssl") is None, "spkssl is importable"
        import json, numpy as np, torch, onnxruntime
        wave, want = np.load("wave.npy"), np.load("want.npy")
        extra = {{"spkssl.json": ""}}
        ts = torch.jit.load({str(ts)!r}, _extra_files=extra)(torch.from_numpy(wave)).numpy()
        sess = onnxruntime.InferenceSession({str(ox)!r}, providers=["CPUExecutionProvider"])
        ox = sess.run(None, {{"wave": wave}})[0]
        meta = json.loads(sess.get_modelmeta().custom_metadata_map["spkssl"])
        rel = lambda a: float(np.linalg.norm(a - want) / np.linalg.norm(want))
        print(json.dumps({{"ts": rel(ts), "onnx": rel(ox), "rate": meta["sampling_rate"],
                          "ts_rate": json.loads(extra["spkssl.json"])["sampling_rate"],
                          "spkssl": "spkssl" in sys.modules}}))
    """)
    proc = subprocess.run([sys.executable, "-I", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["ts"] <= PARITY_REL and out["onnx"] <= PARITY_REL, out
    assert out["rate"] == out["ts_rate"] == 16000 and out["spkssl"] is False


def test_a_family_that_cannot_be_exported_is_a_clear_error(tmp_path, monkeypatch) -> None:
    class NumpyPooling(torch.nn.Module):  # numpy inside forward: neither TorchScript nor torch.export can hold it
        def __init__(self, feat_dim: int, embed_dim: int, pooling: str) -> None:
            super().__init__()
            self.embed_dim = embed_dim
            self.linear = torch.nn.Linear(feat_dim, embed_dim)

        def forward(self, feats: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(np.asarray(self.linear(feats).detach().numpy().mean(axis=1)))

    monkeypatch.setattr("spkssl.models.MODELS", MODELS.extended({"numpy_net": NumpyPooling}))
    monkeypatch.setattr("spkssl.config.check_config", lambda cfg: None)  # the schema lists the real families only
    final = tmp_path / "final.pt"
    save_final_model(final, NumpyPooling(80, 8, "stats"), {"model": {"name": "numpy_net", "embed_dim": 8},
                                                          "features": {"num_mel_bins": 80}})
    with pytest.raises(ExportError, match="model family 'numpy_net' cannot be exported to TorchScript"):
        export_model(final, "torchscript", tmp_path / "m.ts")
    with pytest.raises(ExportError, match="unknown export format 'tflite'"):
        export_model(final, "tflite")
