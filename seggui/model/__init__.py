"""The U-Net and everything TensorFlow: input pipeline, training, prediction, model store.

Importing this package does not import TensorFlow; each module does, so the GUI can load it
lazily off the UI thread.
"""

import os

# Training's best-epoch checkpoint is an HDF5 file private to one run directory. HDF5's
# file lock guards nothing there, and under load it has failed an audit fold with
# "BlockingIOError: unable to lock file" when the checkpoint was read back (keras#11796).
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
