"""Embedding IO: bit-exact ark/scp through kaldi_native_io and kaldiio; npz; Kaldi-made scp; bad input."""
from __future__ import annotations

import kaldi_native_io
import kaldiio
import numpy as np
import pytest

from spkssl.embed.io import EmbeddingError, read_embeddings, write_embeddings


def test_roundtrip_bit_exact(tmp_path, rng):
    ids = [f"spk{i}-utt{i}" for i in range(7)]
    emb = rng.normal(size=(7, 12)).astype(np.float32)
    write_embeddings(tmp_path, ids, emb)
    reader = kaldi_native_io.SequentialFloatVectorReader(f"scp:{tmp_path}/xvector.scp")
    got = {k: np.array(v, copy=True) for k, v in reader}
    assert list(got) == ids and all(np.array_equal(got[u], emb[i]) for i, u in enumerate(ids))
    ark = dict(kaldiio.load_ark(str(tmp_path / "xvector.ark")))
    assert all(np.array_equal(ark[u], emb[i]) for i, u in enumerate(ids))
    scp = kaldiio.load_scp(str(tmp_path / "xvector.scp"))
    assert all(np.array_equal(scp[u], emb[i]) for i, u in enumerate(ids))
    for path in (tmp_path / "xvector.scp", tmp_path / "embeddings.npz", tmp_path):
        r_ids, r_emb = read_embeddings(path)
        assert r_ids == ids and r_emb.dtype == np.float32 and np.array_equal(r_emb, emb)
    assert not list(tmp_path.glob(".tmp.*"))


def test_reads_kaldi_written_scp_with_relative_paths(tmp_path, rng):
    """A Kaldi recipe's ivector.scp: paths relative to the recipe folder, read from elsewhere."""
    emb = {f"u{i}": rng.normal(size=5).astype(np.float32) for i in range(4)}
    xdir = tmp_path / "exp" / "xvector"
    xdir.mkdir(parents=True)
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        kaldiio.save_ark("exp/xvector/ivector.1.ark", emb, scp="exp/xvector/ivector.scp")
    finally:
        os.chdir(cwd)
    ids, got = read_embeddings(xdir / "ivector.scp")
    assert ids == list(emb) and all(np.array_equal(got[i], emb[u]) for i, u in enumerate(ids))


@pytest.mark.parametrize(
    "ids,fix,msg",
    [(["a", "a"], None, "duplicate utterance id 'a'"), (["a", "b"], np.nan, "NaN/inf.*'b'"),
     (["a", "b c"], None, "invalid utterance id")],
)
def test_write_rejects_bad_input(tmp_path, ids, fix, msg):
    emb = np.ones((2, 3), dtype=np.float32)
    if fix is not None:
        emb[1, 0] = fix
    with pytest.raises(EmbeddingError, match=msg):
        write_embeddings(tmp_path, ids, emb)
    assert not (tmp_path / "embeddings.npz").exists()


def test_read_rejects_bad_files(tmp_path):
    (tmp_path / "x.scp").write_text("a /nonexistent.ark:5\n")
    with pytest.raises(EmbeddingError, match="x.scp:1: cannot read 'a'"):
        read_embeddings(tmp_path / "x.scp")
    kaldiio.save_ark(str(tmp_path / "d.ark"), {"a": np.ones(2, np.float32), "b": np.ones(2, np.float32)},
                     scp=str(tmp_path / "d.scp"))
    (tmp_path / "dup.scp").write_text((tmp_path / "d.scp").read_text().replace("b ", "a "))
    with pytest.raises(EmbeddingError, match="duplicate utterance id 'a'"):
        read_embeddings(tmp_path / "dup.scp")
    np.savez(tmp_path / "n.npz", ids=np.array(["a"]), embeddings=np.array([[np.inf]], np.float32))
    with pytest.raises(EmbeddingError, match=r"NaN/inf.*\['a'\]"):
        read_embeddings(tmp_path / "n.npz")
    with pytest.raises(EmbeddingError, match="not found"):
        read_embeddings(tmp_path / "missing.npz")
