"""The U-Net and everything TensorFlow: input pipeline, training, prediction, model store.

Importing this package does not import TensorFlow; each module does, so the GUI can load it
lazily off the UI thread.
"""
