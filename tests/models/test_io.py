"""final.pt save/load round trip and strict loading."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from spkssl.models import build_model
from spkssl.models.io import ModelFileError, load_final_model, model_config, save_final_model


def _cfg(channels: int = 16) -> dict:
    return {
        "model": {"name": "tdnn", "embed_dim": 8, "pooling": "stats", "kwargs": {"channels": channels}},
        "features": {"num_mel_bins": 12},
    }


def test_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    cfg = _cfg()
    model = build_model(cfg["model"], 12)
    model.train()
    model(torch.randn(4, 30, 12))  # move the BN running stats away from their init
    path = tmp_path / "round1" / "final.pt"
    save_final_model(path, model, cfg, extra={"epoch": 5})
    assert path.is_file() and not list(path.parent.glob(".tmp*"))
    loaded, cfg2 = load_final_model(path)
    assert all(cfg2[s][k] == v for s in cfg for k, v in cfg[s].items()) and not loaded.training  # what was saved
    assert cfg2 == model_config(cfg, path)  # ... with the model sections complete (package defaults for the rest)
    assert torch.load(path, weights_only=False)["extra"] == {"epoch": 5}
    x = torch.randn(2, 25, 12)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_wrapped_model_saves_bare_keys(tmp_path: Path) -> None:
    cfg = _cfg()
    wrapper = torch.nn.Module()
    wrapper.module = build_model(cfg["model"], 12)
    save_final_model(tmp_path / "final.pt", wrapper, cfg)
    load_final_model(tmp_path / "final.pt")


def test_strict_load_names_file_and_keys(tmp_path: Path) -> None:
    cfg = _cfg()
    model = build_model(cfg["model"], 12)
    path = tmp_path / "final.pt"
    save_final_model(path, model, cfg)
    payload = torch.load(path, weights_only=False)
    payload["state_dict"]["bogus.weight"] = torch.zeros(1)
    del payload["state_dict"]["head.linear.bias"]
    torch.save(payload, path)
    with pytest.raises(ModelFileError) as err:
        load_final_model(path)
    msg = str(err.value)
    assert str(path) in msg and "head.linear.bias" in msg and "bogus.weight" in msg


def test_shape_mismatch_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "final.pt"
    save_final_model(path, build_model(_cfg(16)["model"], 12), _cfg(24))
    with pytest.raises(ModelFileError, match="size mismatch"):
        load_final_model(path)


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        load_final_model(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ModelFileError, match="cannot read"):
        load_final_model(bad)
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ModelFileError, match="not a final model file"):
        load_final_model(tmp_path / "other.pt")
