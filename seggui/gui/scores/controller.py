"""Scores and what leaves the window: folder totals, the clickable confusion matrix, the CSV,
GeoJSON and palette-PNG exports, and the classes (names, colours, background)."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtWidgets import QComboBox, QFileDialog, QWidget

from seggui.core.atomic import atomic_write_text
from seggui.core.export import export_slides
from seggui.core.folder import save_classes
from seggui.core.report import scores_csv
from seggui.gui.feedback import Feedback
from seggui.gui.scores.class_editor import ClassEditor
from seggui.gui.scores.panel import ScoresPanel
from seggui.gui.session.session import Session
from seggui.gui.slides.slide_list import SlideList
from seggui.gui.workers import Job

SCOPES = ("folder", "test")
SCOPE_NAMES = ("All scored slides", "Test split")


class ScoresController:
    """Folder scores, the confusion-pair filter, exports and the class editor."""

    def __init__(
        self,
        session: Session,
        panel: ScoresPanel,
        slide_list: SlideList,
        feedback: Feedback,
        parent: QWidget,
    ):
        self.session, self.panel, self.slide_list = session, panel, slide_list
        self.feedback, self.parent = feedback, parent
        self.scope_box = QComboBox()
        self.scope_box.addItems(list(SCOPE_NAMES))
        self.scope_box.currentIndexChanged.connect(lambda i: session.set_scope(SCOPES[i]))
        panel.folder.layout().insertWidget(0, self.scope_box)
        panel.folder.confusion.cellClicked.connect(self.show_confusion_pair)
        session.totals_changed.connect(self.update_folder_scores)
        session.opened.connect(lambda _: self.update_folder_scores())

    def evaluate_test(self) -> None:
        self.scope_box.setCurrentIndex(SCOPES.index("test"))
        self.panel.setCurrentWidget(self.panel.folder)

    def update_folder_scores(self) -> None:
        s = self.session
        if s.ctx is None:
            return
        scope = s.scope
        heading = "Test split" if scope == "test" else "All slides with masks"
        done, total = s.facts.records.count(scope)
        self.panel.folder.show_scores(
            s.facts.records.total(scope),
            s.ctx.classes,
            f"{heading}: {done} of {total} slides scored",
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
            for name, scores in s.facts.records.items()
            if scores.confusion[row, col] > 0
        }
        self.slide_list.show_pair((names[row], names[col]), counts)
        self.feedback.status(
            f"{len(counts)} slides have pixels annotated {names[row]} and predicted {names[col]}"
        )

    def export_csv(self) -> None:
        if self.session.ctx is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self.parent,
            "Export scores",
            str(self.session.ctx.root / "seggui_scores.csv"),
            "CSV (*.csv)",
        )
        if path:
            self.write_csv(Path(path))

    def write_csv(self, path: Path) -> None:
        """Per-slide scores, split, review state and problems, written atomically."""
        atomic_write_text(path, scores_csv(self.session.facts))
        self.feedback.status(f"Scores written to {path}")

    def export_annotations(self) -> None:
        """Every slide's annotation (corrected where it was) as GeoJSON and palette PNGs."""
        ctx = self.session.ctx
        if ctx is None:
            return
        folder = QFileDialog.getExistingDirectory(
            self.parent, "Export annotations into", str(ctx.root)
        )
        if folder:
            self.write_exports(Path(folder))

    def write_exports(self, folder: Path) -> Job:
        """Export in the background, after the edits queued for saving are written."""
        ctx, saver = self.session.ctx, self.session.saver
        self.session.edits.save_all()
        slides = [s for s in ctx.slides if s.scorable]
        model = self.session.model_path if self.session.knows_classes() else None

        def export(progress, cancel):
            saver.flush()  # in the job's thread: the export includes the edits just made
            done, problems = export_slides(
                slides,
                ctx.classes,
                folder / "geojson",
                folder / "masks",
                False,
                None,
                progress,
                cancel,
            )
            if ctx.scan.whole_slides:
                done += export_whole(ctx, folder, model, problems, progress, cancel)
            return done, problems

        return self.feedback.run_job(
            export,
            lambda done: self.feedback.status(
                f"Exported {done[0]} slides to {folder} (geojson/, masks/"
                + (", predictions/ for whole slides)" if ctx.scan.whole_slides else ")")
                + (f"; {len(done[1])} could not be read" if done[1] else ""),
                15000,
            ),
            "Exporting",
        )

    def edit_classes(self) -> None:
        s = self.session
        if s.ctx is None:
            return
        colour_masks = s.ctx.classes.source == "mask colours" or any(
            loaded.base is not None and loaded.base.fmt.coding == "colour"
            for loaded in s.loaded.values()
        )
        dialog = ClassEditor(s.ctx.classes, colour_masks, self.parent)
        if dialog.exec() and dialog.result_classes is not None:
            self.apply_classes(dialog.result_classes)

    def apply_classes(self, classes) -> None:
        """Save new class names, colours or background and show them everywhere."""
        ctx = self.session.ctx
        try:
            path = save_classes(ctx.root, ctx.workspace, classes)
        except OSError as exc:
            self.feedback.error("Classes not saved", str(exc))
            return
        self.session.set_classes(classes)
        self.feedback.status(f"Classes saved to {path}")


def export_whole(ctx, folder: Path, model: Path | None, problems: list, progress, cancel) -> int:
    """Whole slides: their annotations into ``geojson/`` and, with a model of the folder's
    classes, their predictions (predicted over the tissue where not yet) into
    ``predictions/``, each with ``areas.csv``. Runs in the export's job."""
    from seggui.model.slide_export import export_whole_slides

    done, more, _ = export_whole_slides(
        ctx.scan.whole_slides,
        ctx.classes,
        folder / "geojson",
        ctx.workspace,
        False,
        progress=progress,
        cancel=cancel,
    )
    problems += more
    if model is not None:
        from seggui.core.predcache import model_key
        from seggui.core.registry import read_meta
        from seggui.model.predict import Predictor

        meta = read_meta(model)
        _, more, _ = export_whole_slides(
            ctx.scan.whole_slides,
            ctx.classes,
            folder / "predictions",
            ctx.workspace,
            False,
            Predictor.from_path(model, meta),
            model_key(model),
            meta.depth,
            progress,
            cancel,
        )
        problems += more
    return done
