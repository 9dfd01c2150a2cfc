"""The U-Net and everything TensorFlow: input pipeline, training, prediction, model store.

Importing this package does not import TensorFlow; each module does, so the GUI can load it
lazily off the UI thread.
"""

import os
import sys

# Training's best-epoch checkpoint is an HDF5 file private to one run directory. HDF5's
# file lock guards nothing there, and under load it has failed an audit fold with
# "BlockingIOError: unable to lock file" when the checkpoint was read back (keras#11796).
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

# OpenVINO's converter and NNCF send usage data to Google Analytics unless the user opted out
# in ~/intel; each report forks a process and waits up to 3 s for it (where the fork hangs, as
# in the training child, its exit waited 16 s). seggui sends nothing: both fall back to their
# stubs when the telemetry package cannot be imported.
sys.modules.setdefault("openvino_telemetry", None)
