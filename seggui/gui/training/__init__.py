"""Models: the retrain panel that drives the training child process (training and label audits),
the typed events it reads from the child, and the controller that activates model versions.
"""
