"""Tests for spkssl.synth.voice: stable, deterministic speaker voices."""
from __future__ import annotations

import json

import numpy as np
import pytest

from spkssl.synth.voice import VOICE_CLASSES, sample_voice


def test_same_seed_same_voice_and_different_seeds_differ() -> None:
    a = sample_voice(np.random.default_rng([3, 0, 1]), "spk0002")
    b = sample_voice(np.random.default_rng([3, 0, 1]), "spk0002")
    c = sample_voice(np.random.default_rng([3, 0, 2]), "spk0003")
    assert a == b
    assert a.f0_mean != c.f0_mean


@pytest.mark.parametrize("seed", range(40))
def test_voice_parameters_within_class_ranges(seed: int) -> None:
    v = sample_voice(np.random.default_rng(seed), "spk0001")
    spec = VOICE_CLASSES[v.voice_class]
    assert v.gender in spec["gender"]
    assert spec["f0"][0] <= v.f0_mean <= spec["f0"][1]
    assert spec["vtl"][0] <= v.formant_scale <= spec["vtl"][1]
    assert v.f0_min < v.f0_mean < v.f0_max
    assert v.f0_max / v.f0_min == pytest.approx(2.0 ** (2 * v.f0_range_st / 12.0))
    assert 0.0 <= v.tilt < 1.0 and 0.0 < v.open_quotient < 1.0
    assert len(v.formant_offsets) == 4


def test_all_classes_occur_and_to_dict_is_json() -> None:
    voices = [sample_voice(np.random.default_rng(i), f"spk{i:04d}") for i in range(60)]
    assert {v.voice_class for v in voices} == set(VOICE_CLASSES)
    d = json.loads(json.dumps(voices[0].to_dict()))
    assert d["speaker_id"] == "spk0000"
    assert d["f0_min"] < d["f0_mean"] < d["f0_max"]
