"""Peak memory of the training data at 100k and 1M cuts (used by ``data_throughput.py --rss-check``).

Synthetic corpora of N cuts (the same 2-second FLAC/WAV for every cut, so only the
bookkeeping grows with N) are written once; each measurement then runs in a fresh
Python process and prints its peak RSS:

* the **Lhotse eager cut list** the trainer held before 2026-11-30 (``list(CutSet.from_file(...))``);
* the **random-access table** (:class:`spkssl.training.audio.TrainingAudio`);
* the **Shar stream** (:class:`spkssl.training.stream.ShardStream`, round 0, no labels):
  the training process and the largest of its two DataLoader workers, over 20 batches
  of 128 cuts.

Usage::

    python benchmarks/rss_check.py --sizes 100000 1000000
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000

_PROBE = {
    "baseline": "import torch, lhotse, spkssl.training.stream",
    "eager list": "from lhotse import CutSet; cuts = list(CutSet.from_file(sys.argv[1]))",
    "random-access table": "from spkssl.training.audio import TrainingAudio; t = TrainingAudio.from_file(sys.argv[1], 16000)",
    "Shar stream": """
from spkssl.config import load_config
from spkssl.data.shar import ShardIndex
from spkssl.training.data import SegmentMaker, collate_segments
from spkssl.training.stream import ShardStream
cfg = load_config(None)
stream = ShardStream(ShardIndex.load(sys.argv[2]), SegmentMaker(cfg, None, per_item=2), batch_size=128,
                     seed=0, num_workers=2, epochs=1)
stream.set_epoch(0, 0)
it = iter(stream.loader(collate_segments))
for i, batch in zip(range(20), it):
    pass
WORKERS = [w.pid for w in it._workers]
""",
}


def make_corpus(root: Path, n: int, shard_size: int = 1000) -> tuple[Path, Path]:
    """``(cuts manifest, Shar folder)`` of ``n`` cuts that all use one 2-second recording.

    The shards hold a 0.1-second FLAC per cut (looped into crops, as short cuts are), so that
    1M cuts take about 3 GB of disk rather than 40.
    """
    root.mkdir(parents=True, exist_ok=True)
    wav = root / "speech.wav"
    x = (0.1 * np.random.default_rng(0).standard_normal(2 * SR)).astype(np.float32)
    sf.write(wav, x, SR, subtype="PCM_16")
    buf = io.BytesIO()
    sf.write(buf, x[: SR // 10], SR, format="FLAC", subtype="PCM_16")
    flac = buf.getvalue()
    manifest = root / "cuts.jsonl.gz"
    shar = root / "shar"
    shar.mkdir(exist_ok=True)
    shards = []
    with gzip.open(manifest, "wt") as m:
        for s in range(0, n, shard_size):
            cuts_file, rec_file = shar / f"cuts.{s // shard_size:06d}.jsonl.gz", shar / f"recording.{s // shard_size:06d}.tar"
            with gzip.open(cuts_file, "wt") as c, tarfile.open(rec_file, "w") as tar:
                for i in range(s, min(n, s + shard_size)):
                    cid = f"spk{i % 6000:05d}-utt{i:08d}"
                    rec = {"id": cid, "sources": [{"type": "file", "channels": [0], "source": str(wav)}],
                           "sampling_rate": SR, "num_samples": 2 * SR, "duration": 2.0, "channel_ids": [0]}
                    cut = {"id": cid, "start": 0.0, "duration": 2.0, "channel": 0, "type": "MonoCut",
                           "supervisions": [{"id": cid, "recording_id": cid, "start": 0.0, "duration": 2.0,
                                             "channel": 0, "speaker": cid[:8]}], "recording": rec}
                    m.write(json.dumps(cut) + "\n")
                    short = {**rec, "num_samples": SR // 10, "duration": 0.1,
                             "sources": [{"type": "shar", "channels": [0], "source": ""}]}
                    c.write(json.dumps({**cut, "duration": 0.1, "recording": short}) + "\n")
                    for name, data in ((f"{cid}.flac", flac), (f"{cid}.json", b"{}")):
                        info = tarfile.TarInfo(name)
                        info.size = len(data)
                        tar.addfile(info, io.BytesIO(data))
            shards.append({"cuts": cuts_file.name, "recording": rec_file.name,
                           "num_cuts": min(n, s + shard_size) - s})
    (shar / "index.json").write_text(json.dumps({"format": "spkssl-shar-1", "num_cuts": n, "sampling_rate": SR,
                                                 "shards": shards, "source": str(manifest.resolve())}))
    return manifest, shar


_HWM = """
def hwm(pid='self'):
    for line in open(f'/proc/{pid}/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024
    return 0.0
"""


def _peak_mib(code: str, *args: str) -> tuple[float, float]:
    """Peak RSS (MiB, ``VmHWM``: not inherited across exec) of a fresh Python running ``code``, and of
    its largest DataLoader worker (``WORKERS``: pids the code leaves, read while they are alive)."""
    script = ("import sys\nWORKERS = []\n" + _PROBE["baseline"] + "\n" + _HWM + code +
              "\nprint(hwm(), max([hwm(p) for p in WORKERS], default=0.0))")
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True)
    main, child = out.stdout.split()[-2:]
    return float(main), float(child)


def rss_table(work: Path, sizes: tuple[int, ...]) -> None:
    """Print the peak RSS of each way of holding the training cuts, at each size (each corpus removed after)."""
    base, _ = _peak_mib(_PROBE["baseline"])
    print(f"peak RSS per process (MiB, VmHWM; a Python with torch, lhotse and spkssl imported: {base:.0f} MiB)")
    print(f"{'cuts':>10} {'eager list':>12} {'random access':>14} {'Shar: trainer':>14} {'Shar: worker':>13}")
    for n in sizes:
        manifest, shar = make_corpus(work / f"rss{n}", n)
        eager, _ = _peak_mib(_PROBE["eager list"], str(manifest))
        table, _ = _peak_mib(_PROBE["random-access table"], str(manifest))
        stream, worker = _peak_mib(_PROBE["Shar stream"], str(manifest), str(shar))
        print(f"{n:>10,} {eager:>12.0f} {table:>14.0f} {stream:>14.0f} {worker:>13.0f}", flush=True)
        shutil.rmtree(manifest.parent)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = p.parse_args()
    rss_table(Path(tempfile.mkdtemp(prefix="spkssl_rss_")), tuple(args.sizes))


if __name__ == "__main__":
    main()
