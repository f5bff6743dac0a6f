"""Data preparation: corpora → Lhotse manifests, trials, augmentation sources, validation."""
