"""Qt-free, TensorFlow-free engine parts: slides, I/O, classes, split, metrics, overlays, review."""
