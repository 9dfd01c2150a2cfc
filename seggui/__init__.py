"""seggui: review semantic segmentation of tissue images and retrain the U-Net behind it."""

__version__ = "0.1.0"
