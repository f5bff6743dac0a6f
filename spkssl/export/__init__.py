"""Export a trained model to TorchScript or ONNX with its fbank front-end and CMN inside the graph.

Example:
    >>> # export_model("exp/mini/round2/final.pt", "onnx", "exp/mini/round2/final.onnx")
"""
from spkssl.export.exporters import EXPORTERS, ExportError, export_model  # noqa: F401
