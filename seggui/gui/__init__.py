"""The PyQt6 review window. Only this package imports Qt.

Who owns what (everything else reads it and subscribes to its change signals, and keeps no
copy):

- the open folder (slides, classes, split, masks): ``session.Session.ctx``, a core
  ``FolderContext``; class changes go through ``Session.set_classes``;
- scores with their running totals, in-sample label quality and uncertainty, the audit's
  scores, review marks, corrected masks, problems found after the scan:
  ``Session.facts`` (``core.facts.SlideFacts``, which keeps marks in the ``ReviewStore`` and
  corrections in the ``MaskStore``), announced per slide by ``Session.fact_changed``;
- decoded slides and predictions of the slides around the current one: ``Session.loaded``
  and ``Session.predictions`` (with the prediction service's disk cache behind them);
- edited masks and their saving: ``Session.edits`` (``session.edits.MaskEdits``);
- the active model and its metadata: ``Session.set_model`` (``model_path``, ``model_meta``);
- the current slide and the look-ahead: ``Session.show``.

The main window only composes: the list (``slides``), the views and editor (``viewer``), and
the controllers of ``review``, ``scores`` and ``training``, with ``settings`` and the actions
table.
"""
