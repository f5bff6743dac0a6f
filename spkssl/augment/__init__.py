"""Augmentation: additive noise/music/babble at target SNRs and reverberation; simulated sources."""
