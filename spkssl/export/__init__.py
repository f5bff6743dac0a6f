"""Export a trained model to TorchScript or ONNX with its fbank front-end and CMN inside the graph.

The exported graph takes raw samples and gives the embedding that the ``final.pt`` gives.

Example (an untrained tiny TDNN to TorchScript; ``"onnx"`` goes the same way, but takes seconds to export):

    >>> import tempfile, pathlib, numpy as np, torch
    >>> from spkssl.inference import load_model
    >>> from spkssl.models import build_model
    >>> from spkssl.models.io import save_final_model
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = torch.manual_seed(0)
    >>> from spkssl.config import with_defaults
    >>> tdnn = with_defaults("model", {"name": "tdnn", "embed_dim": 16, "kwargs": {"channels": 16}})
    >>> cfg = {"model": tdnn, "features": {"num_mel_bins": 80}}
    >>> save_final_model(d / "final.pt", build_model(cfg["model"], 80), cfg)
    >>> out = export_model(d / "final.pt", "torchscript")  # default name: beside it
    >>> out.name, sorted(EXPORTERS)
    ('final.ts', ['onnx', 'torchscript'])
    >>> wave = 0.1 * np.random.default_rng(0).standard_normal(24000).astype(np.float32)
    >>> exported, original = load_model(out), load_model(d / "final.pt")
    >>> exported.kind, exported.embed_dim
    ('torchscript', 16)
    >>> a, b = exported.embed(wave, 16000), original.embed(wave, 16000)
    >>> bool(np.linalg.norm(a - b) <= 1e-3 * np.linalg.norm(b))
    True
"""
from spkssl.export.exporters import EXPORTERS, ExportError, export_model  # noqa: F401
