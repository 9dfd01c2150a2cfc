"""The window's scores and exports: folder totals, the clickable matrix, CSV, GeoJSON,
and the classes (their names, colours and background)."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtWidgets import QFileDialog

from seggui.core.atomic import atomic_write_text
from seggui.core.export import export_slides
from seggui.core.folder import save_classes
from seggui.core.report import scores_csv
from seggui.gui.class_editor import ClassEditor
from seggui.gui.panels import _swatch
from seggui.gui.workers import Job


class ScoresMixin:
    """Part of :class:`~seggui.gui.main_window.MainWindow` (which provides the widgets)."""

    # -- scores ----------------------------------------------------------------------------------
    def evaluate_test(self) -> None:
        self.scope_box.setCurrentIndex(1)
        self.scores.setCurrentWidget(self.scores.folder)

    def _update_folder_scores(self) -> None:
        s = self.session
        if s.ctx is None:
            return
        scope = s.scope
        heading = "Test split" if scope == "test" else "All slides with masks"
        done, total = s.records.count(scope)
        self.scores.folder.show_scores(
            s.records.total(scope), s.ctx.classes, f"{heading}: {done} of {total} slides scored"
        )

    def show_confusion_pair(self, row: int, col: int) -> None:
        """A click on the folder matrix's cell (annotated A, predicted B): the slides with
        A-as-B pixels, most first."""
        s = self.session
        if s.ctx is None or max(row, col) >= len(s.ctx.classes):
            return
        names = s.ctx.classes.names
        counts = {
            name: int(scores.confusion[row, col])
            for name, scores in s.records.items()
            if scores.confusion[row, col] > 0
        }
        self.slide_list.show_pair((names[row], names[col]), counts)
        self.statusBar().showMessage(
            f"{len(counts)} slides have pixels annotated {names[row]} and predicted {names[col]}",
            10000,
        )

    def export_csv(self) -> None:
        if self.session.ctx is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export scores", str(self.session.ctx.root / "seggui_scores.csv"), "CSV (*.csv)"
        )
        if path:
            self.write_csv(Path(path))

    def write_csv(self, path: Path) -> None:
        """Per-slide scores, split, review state and problems, written atomically."""
        s, model = self.session, self.slide_list.model
        text = scores_csv(
            s.ctx.slides,
            s.ctx.classes,
            s.records.get,
            model.part,
            model.problem,
            s.reviews.all() if s.reviews else {},
            lambda name: s.audit.get(name) or s.quality.get(name),
        )
        atomic_write_text(path, text)
        self.statusBar().showMessage(f"Scores written to {path}", 10000)

    def export_annotations(self) -> None:
        """Every slide's annotation (corrected where it was) as GeoJSON and palette PNGs."""
        ctx = self.session.ctx
        if ctx is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export annotations into", str(ctx.root))
        if folder:
            self.write_exports(Path(folder))

    def write_exports(self, folder: Path) -> Job:
        ctx = self.session.ctx
        self.session.save_all()
        self.session.saver.flush()  # the export includes the edits just made
        slides = [s for s in ctx.slides if s.scorable]
        return self.run_job(
            lambda progress, cancel: export_slides(
                slides,
                ctx.classes,
                folder / "geojson",
                folder / "masks",
                False,
                None,
                progress,
                cancel,
            ),
            lambda done: self.statusBar().showMessage(
                f"Exported {done[0]} slides to {folder} (geojson/, masks/)"
                + (f"; {len(done[1])} could not be read" if done[1] else ""),
                15000,
            ),
            "Exporting",
        )

    # -- classes ---------------------------------------------------------------------------------
    def edit_classes(self) -> None:
        ctx = self.session.ctx
        if ctx is None:
            return
        colour_masks = ctx.classes.source == "mask colours" or any(
            loaded.base is not None and loaded.base.fmt.coding == "colour"
            for loaded in self.session.loaded.values()
        )
        dialog = ClassEditor(ctx.classes, colour_masks, self)
        if dialog.exec() and dialog.result_classes is not None:
            self.apply_classes(dialog.result_classes)

    def apply_classes(self, classes) -> None:
        """Save new class names, colours or background and show them everywhere."""
        ctx = self.session.ctx
        try:
            path = save_classes(ctx.root, ctx.workspace, classes)
        except OSError as exc:
            self._error("Classes not saved", str(exc))
            return
        self.session.set_classes(classes)
        self.overlay.set_classes(classes)
        self.editor_bar.set_classes(classes, _swatch)
        if self.session.model_path is not None:  # the model may now know these classes
            self.activate_model(self.session.model_path, persist=False)
        self._render()
        self.statusBar().showMessage(f"Classes saved to {path}", 10000)
