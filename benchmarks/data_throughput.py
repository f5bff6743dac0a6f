"""Benchmark: the training data path, old (per segment) against new (batched), in one run.

Prints, on real speechocean762 audio (Ogg/Opus) and on a FLAC copy of it:

1. **segments/s per CPU core** of the contrastive round-0 data path (two 2-second crops per
   utterance, augmentation with simulated noise/music/babble/RIRs at the configured
   probabilities, 80-bin fbank, CMN), one process, one torch thread each:
   - *old*: the per-segment path spkssl used until 2026-11-30: decode the whole utterance
     (``load_cut_audio``), then per crop ``fit_length`` → ``Augmentor`` (numpy) →
     kaldi-native-fbank → CMN;
   - *new*: ``TrainingAudio`` crops (decoded corpus in RAM, or crop-only FLAC reads) and
     ``Augmentor.draw`` choices per item, then ``BatchFrontend`` (batched torch augmentation,
     fbank, CMN) per batch.
2. **end-to-end trainer segments/s** (``Trainer.fit``, its DataLoader workers and the model)
   against **model-only segments/s** (forward + backward of the same network and batch on
   random features).
3. **projections**: one VoxCeleb2 round-0 epoch (1,092,009 utterances), and embedding
   1,000,000 utterances at the measured extraction rate.
4. with ``--rss-check``: **peak RSS per process** of the training data at 100k and 1M cuts:
   the Lhotse eager cut list the trainer used to hold, the random-access table, and the
   Shar stream (main process and each of two DataLoader workers reading 20 batches).

Usage::

    python benchmarks/data_throughput.py                     # 128 utterances per measurement
    python benchmarks/data_throughput.py --num-utts 256 --steps 20 --rss-check
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from spkssl.augment.augment import Augmentor, fit_length, load_sources
from spkssl.config import load_config
from spkssl.data.audio import load_cut_audio
from spkssl.features.batch_frontend import BatchFrontend
from spkssl.features.frontend import FeatureFrontend
from spkssl.training.audio import TrainingAudio
from spkssl.training.data import SegmentDataset, SegmentMaker, collate_segments

HERE = Path(__file__).resolve()
CORPUS_CANDIDATES = (HERE.parents[2] / "shared" / "data" / "speechocean762", Path("/work/shared/data/speechocean762"))
VOX2_DEV_UTTS = 1_092_009
H200_RESNET34_SEGS = 1459.0  # benchmarks/results/h200_train_throughput.log: thin ResNet-34, fp32, batch 128


def corpus_cuts(corpus: Path, num: int, out: Path, flac: bool):
    """The first ``num`` training utterances as a CutSet (optionally re-encoded as FLAC under ``out``)."""
    from lhotse import CutSet, MonoCut, Recording

    cuts = []
    for line in (corpus / "train" / "wav.scp").read_text().splitlines()[:num]:
        utt, rel = line.split()
        path = corpus / rel
        if flac:
            x, sr = sf.read(path, dtype="float32")
            path = out / f"{utt}.flac"
            sf.write(path, x, sr, subtype="PCM_16")
        rec = Recording.from_file(path, recording_id=utt)
        cuts.append(MonoCut(id=utt, start=0.0, duration=rec.duration, channel=0, recording=rec))
    return CutSet.from_cuts(cuts)


def old_path(cuts, cfg, augmentor: Augmentor, items: list[tuple[int, int]]) -> tuple[int, float]:
    """Segments made and seconds taken by the per-segment path."""
    front = FeatureFrontend.from_config(cfg["features"])
    length = int(cfg["train"]["segment_seconds"] * cfg["features"]["sampling_rate"])
    cut_list = list(cuts)
    t0, n = time.perf_counter(), 0
    for index, seed in items:
        rng = np.random.default_rng([cfg["train"]["seed"], seed])
        audio = load_cut_audio(cut_list[index])
        for _ in range(int(cfg["train"]["num_segments"])):
            feats = front(augmentor(fit_length(audio, length, rng), rng), 16000)
            n += 1
    assert feats.shape[1] == cfg["features"]["num_mel_bins"]
    return n, time.perf_counter() - t0


def new_path(audio: TrainingAudio, cfg, augmentor: Augmentor, items: list[tuple[int, int]],
             batch_size: int) -> tuple[int, float]:
    """Segments made and seconds taken by the batched path (items, collate, BatchFrontend)."""
    ds = SegmentDataset(audio, SegmentMaker(cfg, augmentor, per_item=int(cfg["train"]["num_segments"])),
                        seed=int(cfg["train"]["seed"]))
    front = BatchFrontend(cfg["features"])
    warm = collate_segments([ds[item] for item in items[:batch_size]])  # first-call costs (FFT plans) untimed
    front(warm.wave, warm.draws)
    t0, n = time.perf_counter(), 0
    for s in range(0, len(items), batch_size):
        raw = collate_segments([ds[item] for item in items[s:s + batch_size]])
        feats = front(raw.wave, raw.draws)
        n += feats.shape[0]
    return n, time.perf_counter() - t0


def model_only(cfg, batch: int, steps: int) -> float:
    """Forward + backward segments/s of the configured network on random fbank."""
    from spkssl.models import build_model

    model = build_model(cfg["model"], int(cfg["features"]["num_mel_bins"]))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    frames = int(cfg["train"]["segment_seconds"] * 100)
    x = torch.randn(batch, frames, int(cfg["features"]["num_mel_bins"]))
    model(x).sum().backward()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
    return batch * steps / (time.perf_counter() - t0)


def trainer_rate(cfg, cuts_path: Path, aug_dir: Path, out: Path, steps: int) -> float:
    """Segments/s of ``Trainer.fit`` for ``steps`` steps after one warm-up step (workers and model)."""
    from spkssl.training.trainer import TrainOptions, Trainer

    cfg["train"].update({"max_steps": 1, "epochs": 1000, "save_every_steps": 0, "log_every_steps": 1000})
    trainer = Trainer(cfg, TrainOptions("contrastive", cuts_path, out, aug_dir=aug_dir, device="cpu"))
    trainer.fit()  # starts the workers, one step
    trainer.max_steps = 1 + steps
    t0 = time.perf_counter()
    trainer.fit()
    per_step = int(cfg["train"]["batch_size"]) * int(cfg["train"]["num_segments"])
    return steps * per_step / (time.perf_counter() - t0)


def extraction_rate(cfg, cuts) -> float:
    """Utterances/s of whole-utterance extraction with the configured network (features from audio)."""
    from spkssl.embed.extract import extract_cuts, model_embedder
    from spkssl.models import build_model

    model = build_model(cfg["model"], int(cfg["features"]["num_mel_bins"]))
    front = FeatureFrontend.from_config(cfg["features"]).deterministic()
    t0 = time.perf_counter()
    ids, _ = extract_cuts(cuts, model_embedder(model), front, 20.0, 20000, progress=False)
    return len(ids) / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", type=Path, default=next((c for c in CORPUS_CANDIDATES if c.is_dir()), None))
    p.add_argument("--conf", type=Path, default=HERE.parents[1] / "egs" / "speechocean762" / "conf" / "cpu.yaml")
    p.add_argument("--num-utts", type=int, default=128, help="utterances per measurement")
    p.add_argument("--batch", type=int, default=64, help="items per batch of the new path")
    p.add_argument("--steps", type=int, default=8, help="trainer and model-only steps")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers of the end-to-end trainer")
    p.add_argument("--rss-check", action="store_true", help="also measure peak RSS at 100k and 1M cuts (minutes)")
    args = p.parse_args()
    if args.corpus is None or not (args.corpus / "train" / "wav.scp").is_file():
        raise SystemExit("speechocean762 not found; pass --corpus")
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
    cfg = load_config(args.conf)
    work = Path(tempfile.mkdtemp(prefix="spkssl_data_bench_"))
    from spkssl.data.augsources import prepare_aug_sources

    opus = corpus_cuts(args.corpus, args.num_utts, work, flac=False)
    (work / "flac").mkdir()
    flac = corpus_cuts(args.corpus, args.num_utts, work / "flac", flac=True)
    opus.to_file(work / "opus_cuts.jsonl.gz")
    flac.to_file(work / "flac_cuts.jsonl.gz")
    prepare_aug_sources(work / "aug", train_cuts=opus, cfg=cfg["data"]["aug_sources"])
    augmentor = Augmentor(load_sources(work / "aug"), cfg["augment"], 16000)
    rng = np.random.default_rng(0)
    items = [(i, int(rng.integers(2**31))) for i in range(len(opus))]
    seconds = sum(c.duration for c in opus)
    print(f"{len(opus)} speechocean762 utterances ({seconds:.0f} s), {cfg['train']['num_segments']} two-second crops "
          f"each, augmentation {cfg['augment']['noise_prob']}/{cfg['augment']['music_prob']}/"
          f"{cfg['augment']['babble_prob']}/{cfg['augment']['reverb_prob']} (noise/music/babble/reverb); 1 core each\n")

    print(f"{'data path':<52} {'segments/s per core':>20} {'vs old':>8}")
    rates = {}
    old_path(opus, cfg, augmentor, items[:4])  # first-call costs untimed, as for the new path
    for name, cuts in (("Opus", opus), ("FLAC", flac)):
        n, t = old_path(cuts, cfg, augmentor, items)
        rates[f"old {name}"] = n / t
        print(f"{'old: decode all, per-segment numpy + knf (' + name + ')':<52} {n / t:>20.1f} {1.0:>8.2f}")
        if name == "FLAC":
            audio = TrainingAudio(cuts, 16000)
            n, t = new_path(audio, cfg, augmentor, items, args.batch)
            rates["new FLAC crop-only"] = n / t
            print(f"{'new: crop-only reads, batched torch (FLAC)':<52} {n / t:>20.1f} {n / t / rates['old FLAC']:>8.2f}")
        audio = TrainingAudio(cuts, 16000)
        t_pre = time.perf_counter()
        audio.preload(max_mb=4096, num_jobs=1)
        t_pre = time.perf_counter() - t_pre
        n, t = new_path(audio, cfg, augmentor, items, args.batch)
        rates[f"new {name}"] = n / t
        label = f"new: decoded once in RAM, batched torch ({name})"
        print(f"{label:<52} {n / t:>20.1f} {n / t / rates[f'old {name}']:>8.2f}"
              f"   (decoding once took {t_pre:.1f} s = {t_pre / len(cuts) * 1000:.1f} ms per utterance)")

    print(f"\npeak RSS of this process so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    cfg_t = load_config(args.conf, [f"train.num_workers={args.workers}", "train.preload_audio_mb=4096",
                                    f"train.batch_size={min(int(cfg['train']['batch_size']), len(opus))}"])
    batch = int(cfg_t["train"]["batch_size"]) * int(cfg["train"]["num_segments"])
    model_rate = model_only(cfg, batch, args.steps)
    end_to_end = trainer_rate(cfg_t, work / "opus_cuts.jsonl.gz", work / "aug", work / "train", args.steps)
    print(f"\nmodel only ({cfg['model']['name']}, batch {batch} segments, forward+backward, 1 thread): "
          f"{model_rate:.1f} segments/s")
    print(f"end-to-end Trainer.fit ({args.workers} workers + the model, {len(os.sched_getaffinity(0))} cores): "
          f"{end_to_end:.1f} segments/s = {end_to_end / model_rate:.0%} of model-only")

    ext = extraction_rate(cfg, opus)
    vox_segments = 2 * VOX2_DEV_UTTS
    print("\nprojections (measured rates above; assumptions stated):")
    print(f"  VoxCeleb2 round-0 epoch ({VOX2_DEV_UTTS:,} utterances x 2 crops), data path on 16 cores "
          f"(new FLAC crop-only rate): {vox_segments / (16 * rates['new FLAC crop-only']) / 60:.1f} min; "
          f"old path: {vox_segments / (16 * rates['old FLAC']) / 60:.1f} min; thin ResNet-34 model alone on one "
          f"H200 ({H200_RESNET34_SEGS:.0f} segments/s, logged): {vox_segments / H200_RESNET34_SEGS / 60:.1f} min")
    print(f"  extraction of 1,000,000 utterances at {ext:.1f} utterances/s ({cfg['model']['name']}, 1 CPU thread, "
          f"fbank from audio): {1e6 / ext / 3600:.1f} h")
    if args.rss_check:
        from rss_check import rss_table  # benchmarks/rss_check.py

        print()
        rss_table(work, (100_000, 1_000_000))  # fresh processes; VmHWM is not inherited across exec


if __name__ == "__main__":
    main()
