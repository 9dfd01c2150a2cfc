"""The open folder: the session that owns its state (slides, classes, scores, label quality, review
marks, corrections, predictions, the active model), the background services that load and
predict slides, and the mask edits with their saving. It holds no widget: the list, the views
and the panels subscribe to its per-slide change events and read from it.
"""
