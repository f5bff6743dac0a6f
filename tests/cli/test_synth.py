"""Tests for the ``spkssl synth`` command."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from spkssl.cli import cli


def test_synth_command_writes_corpus(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    args = ["synth", str(out), "--num-train-speakers", "1", "--num-test-speakers", "2",
            "--utts-per-speaker", "2", "--min-seconds", "1", "--max-seconds", "1",
            "--seed", "3", "--trials-per-target", "1", "--nj", "2", "--progress", "false"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "6 utterances" in result.output
    assert len((out / "train" / "wav.scp").read_text().splitlines()) == 2
    assert len((out / "test" / "wav.scp").read_text().splitlines()) == 4
    assert len((out / "trials" / "test.trials").read_text().splitlines()) == 4
    assert (out / "wav" / "spk0003" / "spk0003-utt0002.wav").is_file()


def test_synth_command_rejects_bad_options(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["synth", str(tmp_path), "--min-seconds", "3",
                                      "--max-seconds", "2", "--progress", "false"])
    assert result.exit_code != 0
    assert "min_seconds" in result.output
    result = CliRunner().invoke(cli, ["synth", str(tmp_path), "--nj", "0", "--progress", "false"])
    assert result.exit_code != 0
    assert "--nj" in result.output
