"""C5 training: time splits, the encoder, LightGBM and PyTorch trainers, metrics, provenance."""
