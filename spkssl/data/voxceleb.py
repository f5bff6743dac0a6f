"""VoxCeleb 1/2 → Lhotse manifests through ``lhotse.recipes.voxceleb`` (never downloads).

Expected layout (as lhotse's recipe reads it)::

    VOX1/vox1_meta.csv            tab-separated: id, name, gender (m/f), nationality, set (dev/test)
    VOX1/wav/id10270/<video>/00001.wav
    VOX2/vox2_meta.csv            comma-separated: id, vggface id, gender, set
    VOX2/**/id00012/<video>/00001.m4a  (or .wav)

Ids are lhotse's: ``<speaker>-<video>-<utt>`` (e.g. ``id10270-x6uYqmx31kE-00001``);
cut id == recording id == supervision id.  Cut sets written to ``OUT_DIR``:

* ``vox1_dev``  - VoxCeleb1 speakers of the ``dev`` set (1,211 speakers);
* ``vox1_test`` - VoxCeleb1 ``test`` speakers (40; the Vox1-O trial list uses these);
* ``vox2_dev``  - every VoxCeleb2 file found under ``VOX2`` (normally ``dev/aac``).

each as ``<name>_{recordings,supervisions,cuts}.jsonl.gz``.  lhotse's own
``prepare_voxceleb`` is not used as a whole because it downloads the trial
list; its per-file and VoxCeleb1 helpers are.  Convert trial lists with
:func:`spkssl.data.trials.convert_trials`.

Example:
    >>> names = prepare_voxceleb_sets("data/manifests", vox1="/corpora/voxceleb1")  # doctest: +SKIP
    >>> sorted(names)  # doctest: +SKIP
    ['vox1_dev', 'vox1_test']
"""
from __future__ import annotations

from pathlib import Path

from lhotse import CutSet, RecordingSet, SupervisionSet
from lhotse.qa import fix_manifests
from lhotse.recipes import voxceleb as lhotse_vox

from spkssl.data.kaldi_dir import write_manifests
from spkssl.utils.logging import get_logger
from spkssl.utils.progress import progress

log = get_logger(__name__)


class VoxCelebError(ValueError):
    """A VoxCeleb folder does not have the layout lhotse's recipe expects."""


def _cuts(recs: RecordingSet, sups: SupervisionSet) -> CutSet:
    recs, sups = fix_manifests(recs, sups)
    cuts = CutSet.from_manifests(recordings=recs, supervisions=sups)
    # one supervision per recording: cut id == utterance id (the id trial lists use)
    return CutSet.from_cuts(cut.with_id(cut.recording_id) for cut in cuts)


def _vox1(root: Path, num_jobs: int) -> dict[str, tuple[RecordingSet, SupervisionSet]]:
    if not (root / "vox1_meta.csv").is_file() or not (root / "wav").is_dir():
        raise VoxCelebError(f"{root}: expected vox1_meta.csv and wav/<speaker>/<video>/*.wav")
    try:
        m = lhotse_vox._prepare_voxceleb_v1(root, num_jobs)
    except KeyError as exc:
        raise VoxCelebError(f"{root}: speaker {exc} has a wav folder but no vox1_meta.csv row") from exc
    except ValueError as exc:
        raise VoxCelebError(f"{root / 'vox1_meta.csv'}: malformed row: {exc}") from exc
    return {"vox1_dev": (m["train"]["recordings"], m["train"]["supervisions"]),
            "vox1_test": (m["test"]["recordings"], m["test"]["supervisions"])}


def _vox2(root: Path) -> tuple[RecordingSet, SupervisionSet]:
    meta_path = root / "vox2_meta.csv"
    if not meta_path.is_file():
        raise VoxCelebError(f"{root}: expected vox2_meta.csv")
    meta = {}
    with open(meta_path, encoding="utf-8") as fh:
        next(fh, None)
        for lineno, line in enumerate(fh, 2):
            if not line.strip():
                continue
            fields = [f.strip() for f in line.split(",")]
            if len(fields) != 4:
                raise VoxCelebError(f"{meta_path}:{lineno}: expected 4 comma-separated fields")
            meta[fields[0]] = lhotse_vox.SpeakerMetadata(
                id=fields[0], name="", gender=fields[2], nationality="", split=fields[3])
    files = sorted(p for ext in ("*.m4a", "*.wav") for p in root.rglob(ext))
    if not files:
        raise VoxCelebError(f"{root}: no .m4a or .wav files found")
    recs, sups = [], []
    for p in progress(files, desc="Reading VoxCeleb2", unit="file", leave=False):
        spk = p.parent.parent.name
        if spk not in meta:
            raise VoxCelebError(f"{p}: speaker '{spk}' is not in {meta_path}")
        rec, sup = lhotse_vox._process_file(p, meta)
        recs.append(rec)
        sups.append(sup)
    return RecordingSet.from_recordings(recs), SupervisionSet.from_segments(sups)


def prepare_voxceleb_sets(
    out_dir: str | Path,
    vox1: str | Path | None = None,
    vox2: str | Path | None = None,
    num_jobs: int = 1,
) -> dict[str, CutSet]:
    """Write ``vox1_dev``, ``vox1_test`` (from ``vox1``) and ``vox2_dev`` (from ``vox2``) manifests.

    Returns:
        set name → cut set (as written).

    Raises:
        VoxCelebError: when neither root is given or a root has the wrong layout.
    """
    if vox1 is None and vox2 is None:
        raise VoxCelebError("give at least one of vox1 / vox2")
    parts: dict[str, tuple[RecordingSet, SupervisionSet]] = {}
    if vox1 is not None:
        parts.update(_vox1(Path(vox1), num_jobs))
    if vox2 is not None:
        parts["vox2_dev"] = _vox2(Path(vox2))
    out: dict[str, CutSet] = {}
    for name, (recs, sups) in parts.items():
        if len(recs) == 0:
            log.warning("%s: no recordings found; not written", name)
            continue
        cuts = _cuts(recs, sups)
        write_manifests(out_dir, name, recs, sups, cuts)
        out[name] = cuts
        log.info("%s: %d utterances, %d speakers", name, len(cuts), len({s.speaker for s in sups}))
    return out
