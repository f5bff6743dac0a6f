"""spkssl: iterative self-supervised speaker embedding learning on Lhotse data."""
from pathlib import Path

from setuptools import find_packages, setup

VERSION = {}
exec(Path(__file__).with_name("spkssl").joinpath("version.py").read_text(encoding="utf-8"), VERSION)

setup(
    name="spkssl",
    version=VERSION["__version__"],
    description="Iterative self-supervised speaker recognition: Kaldi-style recipes on Lhotse",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["spkssl", "spkssl.*"]),
    package_data={"spkssl": ["configs/*.yaml"]},  # the only defaults, each key with its spec
    install_requires=[
        "torch>=2.1,<2.15",
        "torchaudio>=2.1,<2.12",
        "lhotse>=1.33,<1.34",
        "urllib3>=1.26",  # lhotse 1.33 imports it without declaring it
        "kaldi-native-fbank>=1.20,<2",
        "kaldi-native-io>=1.22,<2",
        "kaldiio>=2.18,<3",
        "scikit-learn>=1.3,<2",
        "scipy>=1.10,<2",
        "numpy>=1.24,<3",
        "tensorboard>=2.14,<3",
        "soundfile>=0.12,<1",
        "tqdm>=4.60,<5",
        "pyyaml>=6,<7",
        "matplotlib>=3.7,<4",
        "click>=8.1,<9",
    ],
    extras_require={
        # the test suite runs the ONNX parity tests and the silero VAD: both install from wheels in seconds;
        # pytest-xdist runs it on the machine's cores (pytest.ini)
        "test": ["pytest>=7,<10", "pytest-xdist>=3,<4", "onnxruntime>=1.17,<2", "onnx>=1.16,<2", "onnxscript>=0.2,<1", "silero-vad>=5,<7",
                 "sphinx>=7,<10", "myst-parser>=2,<6", "sphinx-click>=5,<7"],
        # the manual: python -m sphinx -W -b html docs docs/_build/html (the test suite builds it too)
        "docs": ["sphinx>=7,<10", "myst-parser>=2,<6", "sphinx-click>=5,<7"],
        # spkssl export --format onnx, and running .onnx models (spkssl embed/verify, spkssl.load_model)
        "export": ["onnxruntime>=1.17,<2", "onnx>=1.16,<2", "onnxscript>=0.2,<1"],
        # infer.vad.name=silero (the package ships its model)
        "vad": ["silero-vad>=5,<7"],
        # optional peers of benchmarks/ (never needed by the package itself)
        "benchmarks": ["faiss-cpu>=1.7.4,<2"],
    },
    entry_points={"console_scripts": ["spkssl=spkssl.cli:cli", "spkssl-torchrun=spkssl.launch.agent:main"]},
)
