"""The PyQt6 review window. Only this package imports Qt."""
