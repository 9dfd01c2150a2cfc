"""The mask editing tools on the annotation view: brush, eraser, fill, lasso, take prediction.

The editor turns mouse input on the left canvas into changes of the slide's
:class:`~seggui.core.editing.EditableMask`, then asks the session to update the derived
layers of the changed box and the canvases to repaint only that box.
"""

from __future__ import annotations

import math

from PyQt6.QtCore import QObject, QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QIcon, QPainterPath
from PyQt6.QtWidgets import QComboBox, QLabel, QSpinBox, QToolBar

from seggui.core.classes import display_colors
from seggui.core.editing import Box
from seggui.gui.session.session import Session
from seggui.gui.viewer.canvas import SlideCanvas, ViewPair

TOOLS = ("pan", "brush", "eraser", "fill", "lasso", "take")
PAINTING = ("brush", "eraser", "take")
MIN_SIZE, MAX_SIZE = 1, 256


def grown(box: Box, by: int = 1) -> Box:
    return (box[0] - by, box[1] + by, box[2] - by, box[3] + by)


class Editor(QObject):
    """Tool state and mouse handling for editing the current slide's annotation."""

    changed = pyqtSignal()  # tool, class or size: the tool bar shows them
    edited = pyqtSignal(str)  # a step finished on this slide (scores, title, list)

    def __init__(self, session: Session, views: ViewPair, parent=None):
        super().__init__(parent)
        self.session = session
        self.views = views
        self.tool = "pan"
        self.active_class = 1
        self.eraser_class: int | None = None  # None: "background" by name, else class 0
        self.size = 9
        self._last: tuple[float, float] | None = None
        self._lasso: list[tuple[float, float]] | None = None
        self._lasso_dragged = False
        self._press_at: QPointF | None = None
        views.left.tool = self

    # -- settings --------------------------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        ctx = self.session.ctx
        return len(ctx.classes) if ctx is not None else 0

    def background(self) -> int:
        """The class the eraser paints."""
        if self.eraser_class is not None and self.eraser_class < self.n_classes:
            return self.eraser_class
        ctx = self.session.ctx
        background = ctx.classes.background if ctx is not None else None
        return 0 if background is None else background

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(tool)
        self.cancel_lasso()
        self.tool = tool
        canvas = self.views.left
        canvas.setDragMode(
            canvas.DragMode.ScrollHandDrag if tool == "pan" else canvas.DragMode.NoDrag
        )
        canvas.viewport().setCursor(
            Qt.CursorShape.OpenHandCursor if tool == "pan" else Qt.CursorShape.CrossCursor
        )
        if tool not in PAINTING:
            canvas.cursor_item.hide()
        self.changed.emit()

    def set_class(self, index: int) -> None:
        if 0 <= index < self.n_classes:
            self.active_class = index
            self.changed.emit()

    def set_size(self, size: int) -> None:
        self.size = max(MIN_SIZE, min(MAX_SIZE, int(size)))
        self._place_cursor(None)
        self.changed.emit()

    def grow(self) -> None:
        self.set_size(max(self.size + 1, round(self.size * 1.25)))

    def shrink(self) -> None:
        self.set_size(min(self.size - 1, round(self.size / 1.25)))

    def pick_class_at(self, x: float, y: float) -> None:
        labels, _ = self.session.annotation(self.session.current or "")
        if labels is None:
            return
        i, j = math.floor(y), math.floor(x)
        if 0 <= i < labels.shape[0] and 0 <= j < labels.shape[1]:
            self.set_class(int(labels[i, j]))

    # -- history and whole-slide actions -------------------------------------------------------------
    def _edit(self, create: bool = True):
        name = self.session.current
        return self.session.edits.edit_for(name) if create else self.session.edits.get(name or "")

    def undo(self) -> None:
        edit = self._edit(create=False)
        if edit is not None:
            self._finished(edit.undo(), edit)

    def redo(self) -> None:
        edit = self._edit(create=False)
        if edit is not None:
            self._finished(edit.redo(), edit)

    def new_mask_from_prediction(self) -> None:
        name = self.session.current
        if name is None:
            return
        if self.session.edits.new_mask_from_prediction(name) is None:
            self.session.status.emit(
                f"{name}: a new mask needs a slide without one and its prediction shown"
            )
            return
        self.edited.emit(name)

    # -- repainting ------------------------------------------------------------------------------
    def _refresh(self, box: Box | None) -> None:
        if box is None:
            return
        left, right = self.views.left, self.views.right
        name = self.session.current
        edit = self.session.edits.get(name)
        if edit is not None and left.mask.array is not edit.labels:
            # The first edit of a slide: the layers now show its editable copy.
            labels, contour = self.session.annotation(name)
            left.mask.set_array(labels)
            left.contour.set_array(contour)
        self.session.edits.layers_changed(name, box)
        left.mask.refresh(box)
        left.contour.refresh(grown(box))
        right.diff.refresh(box)

    def _finished(self, box: Box | None, edit) -> None:
        """A history step ended (stroke, fill, polygon, undo or redo)."""
        if box is None:
            return
        self._refresh(box)
        name = self.session.current
        if edit.last_change is not None:
            change_box, before, after = edit.last_change
            self.session.edits.rescore(name, change_box, before, after)
        self.edited.emit(name)

    # -- the brush outline and the lasso path ----------------------------------------------------------
    def _place_cursor(self, pos: QPointF | None) -> None:
        item = self.views.left.cursor_item
        if self.tool not in PAINTING:
            item.hide()
            return
        if pos is None:
            if not item.isVisible():
                return
            pos = item.rect().center()
        else:
            pos = QPointF(math.floor(pos.x()) + 0.5, math.floor(pos.y()) + 0.5)
        d = float(self.size)
        item.setRect(QRectF(pos.x() - d / 2, pos.y() - d / 2, d, d))
        item.show()

    def _draw_lasso(self, cursor: QPointF | None = None) -> None:
        item = self.views.left.path_item
        if not self._lasso:
            item.hide()
            return
        path = QPainterPath(QPointF(*self._lasso[0]))
        for x, y in self._lasso[1:]:
            path.lineTo(x, y)
        if cursor is not None and not self._lasso_dragged:
            path.lineTo(cursor)
        item.setPath(path)
        item.show()

    def cancel_lasso(self) -> bool:
        had = self._lasso is not None
        self._lasso = None
        self._draw_lasso()
        return had

    def close_lasso(self) -> None:
        points, self._lasso = self._lasso, None
        self._draw_lasso()
        edit = self._edit()
        if points and len(points) >= 3 and edit is not None:
            self._finished(edit.polygon(points, self.active_class), edit)

    def escape(self) -> None:
        """Esc: cancel an open lasso, else go back to pan and zoom."""
        if not self.cancel_lasso():
            self.set_tool("pan")

    # -- mouse (called by the canvas; True when the editor took the event) ---------------------------
    def press(self, canvas: SlideCanvas, event) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        pos = canvas.scene_point(event)
        if event.modifiers() & Qt.KeyboardModifier.AltModifier:
            self.pick_class_at(pos.x(), pos.y())
            return True
        if self.tool == "pan":
            return False
        edit = self._edit()
        if edit is None:
            self.session.status.emit(
                "This slide has no mask to edit yet (Edit > New mask from prediction starts one)"
            )
            return True
        p = (pos.x(), pos.y())
        if self.tool in PAINTING:
            source = None
            if self.tool == "take":
                pred = self.session.predictions.get(self.session.current)
                if pred is None or pred.labels.shape != edit.shape:
                    self.session.status.emit("No prediction of this slide to take from yet")
                    return True
                source = pred.labels
            edit.begin_stroke(self.tool)
            self._last = p
            self._source = source
            self._refresh(self._stroke(edit, p, p))
        elif self.tool == "fill":
            self._finished(edit.fill(math.floor(p[0]), math.floor(p[1]), self.active_class), edit)
        elif self.tool == "lasso":
            self._press_at = event.position()
            if self._lasso is None:
                self._lasso = [p]
                self._lasso_dragged = False
            else:
                self._lasso.append(p)  # another corner of a polygon being clicked
            self._draw_lasso()
        return True

    def _stroke(self, edit, p0, p1) -> Box | None:
        if self.tool == "take":
            return edit.stroke_to(p0, p1, self.size, source=self._source)
        value = self.background() if self.tool == "eraser" else self.active_class
        return edit.stroke_to(p0, p1, self.size, value=value)

    def move(self, canvas: SlideCanvas, event) -> bool:
        pos = canvas.scene_point(event)
        self._place_cursor(pos)
        held = event.buttons() & Qt.MouseButton.LeftButton
        if self.tool in PAINTING and held and self._last is not None:
            edit = self._edit(create=False)
            if edit is not None:
                p = (pos.x(), pos.y())
                self._refresh(self._stroke(edit, self._last, p))
                self._last = p
            return True
        if self.tool == "lasso" and self._lasso is not None:
            if held and self._press_at is not None:
                if (event.position() - self._press_at).manhattanLength() > 3:
                    self._lasso_dragged = True
                if self._lasso_dragged:
                    self._lasso.append((pos.x(), pos.y()))
            self._draw_lasso(pos)
            return True
        return self.tool != "pan"

    def release(self, canvas: SlideCanvas, event) -> bool:
        if event.button() != Qt.MouseButton.LeftButton or self.tool == "pan":
            return False
        if self.tool in PAINTING and self._last is not None:
            self._last = None
            edit = self._edit(create=False)
            if edit is not None:
                self._finished(edit.end_stroke(), edit)
        elif self.tool == "lasso" and self._lasso is not None and self._lasso_dragged:
            self.close_lasso()  # a freehand lasso closes when the button is released
        self._press_at = None
        return True

    def double_click(self) -> None:
        if self.tool == "lasso" and self._lasso is not None:
            self.close_lasso()


class EditorBar(QToolBar):
    """The tools over the annotation view, with the active class and the brush size."""

    def __init__(self, editor: Editor, actions: dict, parent=None):
        super().__init__("Edit", parent)
        self.editor = editor
        for key in (
            "tool_pan",
            "tool_brush",
            "tool_eraser",
            "tool_fill",
            "tool_lasso",
            "tool_take",
        ):
            self.addAction(actions[key])
        self.addSeparator()
        self.addWidget(QLabel(" Class "))
        self.classes = QComboBox()
        self.classes.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.classes.setToolTip("Active class (Ctrl+1..9, or Alt+click a pixel)")
        self.classes.currentIndexChanged.connect(
            lambda i: editor.set_class(i) if i >= 0 and i != editor.active_class else None
        )
        self.addWidget(self.classes)
        self.addWidget(QLabel(" Size "))
        self.size = QSpinBox()
        self.size.setRange(MIN_SIZE, MAX_SIZE)
        self.size.setSuffix(" px")
        self.size.setToolTip("Brush size ([ and ])")
        self.size.valueChanged.connect(lambda v: editor.set_size(v) if v != editor.size else None)
        self.addWidget(self.size)
        self.addSeparator()
        for key in ("undo", "redo", "save_mask"):
            self.addAction(actions[key])
        editor.changed.connect(self.sync)

    def set_classes(self, classes, icon_for) -> None:
        self.classes.blockSignals(True)
        self.classes.clear()
        for c, color in zip(classes, display_colors(classes), strict=True):
            self.classes.addItem(QIcon(icon_for(tuple(int(v) for v in color))), c.name)
        self.classes.blockSignals(False)
        self.sync()

    def sync(self) -> None:
        e = self.editor
        self.classes.blockSignals(True)
        self.classes.setCurrentIndex(
            e.active_class if e.active_class < self.classes.count() else -1
        )
        self.classes.blockSignals(False)
        self.size.blockSignals(True)
        self.size.setValue(e.size)
        self.size.blockSignals(False)
