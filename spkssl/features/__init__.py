"""Features: kaldi-native-fbank log-mel filterbanks, stored through Lhotse or on the fly."""
