"""Two image views side by side whose zoom and pan are locked together."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPointF, Qt, pyqtSignal
from PyQt6.QtGui import QImage, QPainter, QPixmap
from PyQt6.QtWidgets import (
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)


def to_pixmap(rgb: np.ndarray) -> QPixmap:
    """A QPixmap from a uint8 RGB array (made on the UI thread)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


class SlideView(QGraphicsView):
    """One zoomable, pannable image; reports the image pixel under the mouse."""

    hovered = pyqtSignal(int, int)
    zoomed = pyqtSignal(float)  # factor, so the partner can follow
    resized = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.item = QGraphicsPixmapItem()
        self.item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self.scene().addItem(self.item)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setMouseTracking(True)
        self.setBackgroundBrush(Qt.GlobalColor.darkGray)
        self.setMinimumSize(200, 200)

    def set_image(self, rgb: np.ndarray | None) -> None:
        if rgb is None:
            self.item.setPixmap(QPixmap())
            return
        pix = to_pixmap(rgb)
        self.item.setPixmap(pix)
        self.scene().setSceneRect(0, 0, pix.width(), pix.height())

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.resized.emit()

    def wheelEvent(self, event):
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        self.zoom(factor)
        self.zoomed.emit(factor)

    def zoom(self, factor: float) -> None:
        current = self.transform().m11()
        if 0.02 < current * factor < 64:
            self.scale(factor, factor)

    def mouseMoveEvent(self, event):
        super().mouseMoveEvent(event)
        pos: QPointF = self.mapToScene(event.position().toPoint())
        self.hovered.emit(int(pos.x()), int(pos.y()))


class ViewPair(QWidget):
    """Annotation overlay on the left, prediction (or difference) on the right, in lockstep."""

    hovered = pyqtSignal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.left, self.right = SlideView(), SlideView()
        self.left_title, self.right_title = QLabel("Annotation"), QLabel("Prediction")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for title, view in ((self.left_title, self.left), (self.right_title, self.right)):
            column = QVBoxLayout()
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            # Long titles must not make one view wider than the other.
            title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            column.addWidget(title)
            column.addWidget(view, 1)
            layout.addLayout(column, 1)
        self._syncing = False
        self.fit_mode = True  # keep fitting on resize until the user zooms
        for a, b in ((self.left, self.right), (self.right, self.left)):
            a.zoomed.connect(lambda f, b=b, a=a: self._user_zoomed(a, b))
            a.horizontalScrollBar().valueChanged.connect(
                lambda v, b=b: self._follow(b.horizontalScrollBar(), v)
            )
            a.verticalScrollBar().valueChanged.connect(
                lambda v, b=b: self._follow(b.verticalScrollBar(), v)
            )
            a.hovered.connect(self.hovered)
            a.resized.connect(lambda a=a: self._view_resized(a))

    def _follow(self, bar, value: int) -> None:
        if self._syncing:
            return
        self._syncing = True
        bar.setValue(value)
        self._syncing = False

    def _user_zoomed(self, source: SlideView, target: SlideView) -> None:
        self.fit_mode = False
        self._follow_zoom(source, target)

    def _view_resized(self, view: SlideView) -> None:
        if self.fit_mode and not view.item.pixmap().isNull():
            view.fitInView(view.item, Qt.AspectRatioMode.KeepAspectRatio)

    def _follow_zoom(self, source: SlideView, target: SlideView) -> None:
        self._syncing = True
        target.setTransform(source.transform())
        target.horizontalScrollBar().setValue(source.horizontalScrollBar().value())
        target.verticalScrollBar().setValue(source.verticalScrollBar().value())
        self._syncing = False

    def zoom(self, factor: float) -> None:
        self.fit_mode = False
        self.left.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.left.zoom(factor)
        self.left.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self._follow_zoom(self.left, self.right)

    def fit(self) -> None:
        self.fit_mode = True
        for view in (self.left, self.right):
            if not view.item.pixmap().isNull():
                view.fitInView(view.item, Qt.AspectRatioMode.KeepAspectRatio)

    def actual_size(self) -> None:
        self.fit_mode = False
        self.left.resetTransform()
        self._follow_zoom(self.left, self.right)

    def scale(self) -> float:
        return self.left.transform().m11()
