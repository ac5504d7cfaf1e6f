"""The frozen upstream of a probe: loading encoders, baselines, weighted layers.

:mod:`.loading` turns an encoder folder (ours, a Hugging Face-style folder, a
FBANK baseline) into a frozen module returning every hidden state;
:mod:`.baselines` makes the SUPERB-style baselines (FBANK, the untrained
encoder); :mod:`.weighted_layers` learns the softmax weights that mix the
hidden states into one feature sequence for the probe.
"""
