"""Data: audio I/O, corpus preparers, manifests, pipelines, synthetic speech."""
