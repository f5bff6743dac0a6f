"""Use a trained model on any audio: ``spkssl.load_model``, ``spkssl embed`` / ``verify`` / ``info``.

- :mod:`~spkssl.inference.model`: :func:`load_model` → :class:`SpeakerModel` (embed, score, verify);
- :mod:`~spkssl.inference.engines`: ``final.pt``, TorchScript and ONNX files behind one interface;
- :mod:`~spkssl.inference.audio`, :mod:`~spkssl.inference.sources`, :mod:`~spkssl.inference.vad`:
  files, folders, ``wav.scp``, Kaldi dirs and Lhotse manifests → one channel at the model's rate, VAD;
- :mod:`~spkssl.inference.sidecar`: the fitted scoring back-ends (:mod:`spkssl.scoring.backends`) and
  the EER threshold a model carries (``verify.json`` + ``verify.npz``);
- :mod:`~spkssl.inference.verify`: trial lists, enrolment by embedding mean, FA/FR at the threshold;
- :mod:`~spkssl.inference.info`: what a model file is (``spkssl info``).

Export to TorchScript / ONNX is :mod:`spkssl.export`.

Example (an untrained tiny TDNN, and a cosine threshold of 0.25 carried in its folder):
    >>> import tempfile, pathlib, numpy as np, soundfile as sf, torch
    >>> from spkssl.models import build_model
    >>> from spkssl.models.io import save_final_model
    >>> from spkssl.scoring import fit_backend
    >>> from spkssl.inference.sidecar import write_verify_sidecar
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = torch.manual_seed(0)
    >>> from spkssl.config import with_defaults
    >>> tdnn = with_defaults("model", {"name": "tdnn", "embed_dim": 16, "kwargs": {"channels": 16}})
    >>> cfg = {"model": tdnn, "features": {"num_mel_bins": 80}}
    >>> save_final_model(d / "final.pt", build_model(cfg["model"], 80), cfg)
    >>> val = {"backend": "cosine", "name": "val", "trials": "val.trials", "eer": 5.0, "num_trials": 10,
    ...        "thresholds": {"eer_kaldi": 0.25}}
    >>> cosine = fit_backend("cosine", None, with_defaults("score", {"mean_sub": False}))
    >>> _ = write_verify_sidecar(d, "round1", "final.pt", [val], {"cosine": cosine}, {}, d / "none.npz")
    >>> sf.write(d / "a.wav", 0.1 * np.random.default_rng(0).standard_normal(24000), 16000)
    >>> model = load_model(d / "final.pt")
    >>> model.embed_file(d / "a.wav").shape
    (16,)
    >>> decision = model.verify(d / "a.wav", d / "a.wav")
    >>> decision.same_speaker, round(decision.score, 4), decision.threshold, decision.backend
    (True, 1.0, 0.25, 'cosine')
"""
from spkssl.inference.model import Decision, SpeakerModel, VerifyError, load_model  # noqa: F401
