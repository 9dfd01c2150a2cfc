"""Reviewing annotations: the review panel and the controller that marks slides, takes notes and
reverts corrected masks through the session.
"""
