"""Scores and what leaves the window: the scores panel, folder totals and the clickable confusion
matrix, CSV and GeoJSON exports, and the class editor.
"""
