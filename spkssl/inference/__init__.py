"""Use a trained model on any audio: ``spkssl.load_model``, ``spkssl embed`` / ``verify`` / ``info``.

- :mod:`~spkssl.inference.model`: :func:`load_model` → :class:`SpeakerModel` (embed, score, verify);
- :mod:`~spkssl.inference.engines`: ``final.pt``, TorchScript and ONNX files behind one interface;
- :mod:`~spkssl.inference.audio`, :mod:`~spkssl.inference.sources`, :mod:`~spkssl.inference.vad`:
  files, folders, ``wav.scp``, Kaldi dirs and Lhotse manifests → one channel at the model's rate, VAD;
- :mod:`~spkssl.inference.backends`, :mod:`~spkssl.inference.sidecar`: scoring back-ends with their
  training statistics and the EER threshold a model carries (``verify.json`` + ``verify.npz``);
- :mod:`~spkssl.inference.verify`: trial lists, enrolment by embedding mean, FA/FR at the threshold;
- :mod:`~spkssl.inference.info`: what a model file is (``spkssl info``).

Export to TorchScript / ONNX is :mod:`spkssl.export`.

Example:
    >>> # model = load_model("exp/mini/round2/final.pt"); model.verify("a.wav", "b.wav")
"""
from spkssl.inference.model import Decision, SpeakerModel, VerifyError, load_model  # noqa: F401
