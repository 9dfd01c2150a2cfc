"""Whole slides in the window: the tiled, lazy views over a pyramid (:mod:`.view`) and the
controller that owns the open whole slide, its tile cache and its workers (:mod:`.controller`)."""
