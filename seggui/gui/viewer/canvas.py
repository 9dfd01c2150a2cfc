"""The layered view of one slide, and two of them locked together.

Each view is a scene of layers: the image as a pixmap made once per slide, and over it class
masks, contours and the difference as 8-bit indexed images that share the numpy arrays they
show. A colour table turns indices into colours: hiding a class is an alpha of 0 in the
table, opacity is the item's opacity, and an edit repaints only its dirty rectangle, so none
of these touches a pixel array.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PyQt6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from seggui.core.overlay import CLEAR, DIFF_COLOR

Box = tuple[int, int, int, int]


def to_pixmap(rgb: np.ndarray) -> QPixmap:
    """A QPixmap from a uint8 RGB array (made on the UI thread)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    # The conversion makes a QImage that owns its pixels, so the pixmap never reads ``rgb``.
    return QPixmap.fromImage(image.convertToFormat(QImage.Format.Format_RGB32))


def class_table(colors: np.ndarray, visible: np.ndarray | None = None) -> list[int]:
    """A 256-entry colour table: class colours (alpha 0 when hidden), the rest transparent."""
    table = [0] * 256
    for i, (r, g, b) in enumerate(np.asarray(colors, dtype=int)[:CLEAR]):
        shown = visible is None or i >= len(visible) or bool(visible[i])
        table[i] = QColor(int(r), int(g), int(b), 255 if shown else 0).rgba()
    return table


#: Difference layer: agreement faded towards white, disagreement in red (as the old blend).
DIFF_TABLE = [QColor(255, 255, 255, 115).rgba(), QColor(*map(int, DIFF_COLOR), 153).rgba()] + [
    0
] * 254


def _heat(v: int) -> int:
    """A colour for uncertainty ``v`` in 0..255: transparent blue when sure, to opaque
    yellow-red when unsure."""
    t = v / 255.0
    r = int(255 * min(1.0, 2 * t))
    g = int(255 * (1.0 - abs(2 * t - 1.0)) * 0.9)
    b = int(255 * max(0.0, 1.0 - 2 * t))
    return QColor(r, g, b, int(40 + 200 * t)).rgba()


#: Colour tables of the right view's review layers.
REVIEW_TABLES = {
    "difference": DIFF_TABLE,
    "issues": [QColor(255, 255, 255, 90).rgba(), QColor(255, 0, 255, 230).rgba()] + [0] * 254,
    "uncertainty": [_heat(v) for v in range(256)],
}


class IndexedLayer(QGraphicsItem):
    """A uint8 array drawn through a colour table, without copying it."""

    def __init__(self, z: float):
        super().__init__()
        self.setZValue(z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.array: np.ndarray | None = None
        self.image: QImage | None = None
        self._table: list[int] = [0] * 256
        self._rect = QRectF()

    def set_array(self, array: np.ndarray | None) -> None:
        """Show ``array`` (kept by reference: later in-place edits show after :meth:`refresh`)."""
        if array is self.array:
            return
        self.prepareGeometryChange()
        self.array = array
        if array is None:
            self.image, self._rect = None, QRectF()
        else:
            if not (array.dtype == np.uint8 and array.flags.c_contiguous and array.ndim == 2):
                raise ValueError("a layer shows a C-contiguous 2-D uint8 array")
            h, w = array.shape
            self.image = QImage(array.data, w, h, w, QImage.Format.Format_Indexed8)
            self.image.setColorTable(self._table)
            self._rect = QRectF(0, 0, w, h)
        self.update()

    def set_table(self, table: list[int]) -> None:
        if table == self._table:
            return
        self._table = list(table)
        if self.image is not None:
            self.image.setColorTable(self._table)
        self.update()

    def refresh(self, box: Box | None = None) -> None:
        """Repaint after the array changed in place (only ``box`` when given)."""
        if box is None:
            self.update()
        else:
            y0, y1, x0, x1 = box
            self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self.image is None:
            return
        area = option.exposedRect.toAlignedRect().intersected(self.image.rect())
        if not area.isEmpty():
            painter.drawImage(area, self.image, area)


class SlideCanvas(QGraphicsView):
    """One slide: image, mask, contour and difference layers, brush outline and lasso path.

    Mouse input goes to ``tool`` (the editor) when one is set and claims it; otherwise the
    view pans by dragging. The middle button always pans.
    """

    hovered = pyqtSignal(int, int)
    zoomed = pyqtSignal(float)
    resized = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.item = QGraphicsPixmapItem()
        self.item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self.mask = IndexedLayer(1)
        self.contour = IndexedLayer(2)
        self.diff = IndexedLayer(3)
        self.cursor_item = QGraphicsEllipseItem()
        self.path_item = QGraphicsPathItem()
        for overlay in (self.cursor_item, self.path_item):
            pen = QPen(QColor(255, 255, 255), 0)  # cosmetic: one screen pixel at any zoom
            pen.setCosmetic(True)
            overlay.setPen(pen)
            overlay.setZValue(10)
            overlay.hide()
        for it in (self.item, self.mask, self.contour, self.diff, self.cursor_item, self.path_item):
            self.scene().addItem(it)
        self.tool = None
        self._pan_from: QPointF | None = None
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setMouseTracking(True)
        self.setBackgroundBrush(Qt.GlobalColor.darkGray)
        self.setMinimumSize(200, 200)

    # -- content -------------------------------------------------------------------------------
    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        if pixmap is None or pixmap.isNull():
            self.item.setPixmap(QPixmap())
            for layer in (self.mask, self.contour, self.diff):
                layer.set_array(None)
            return
        if pixmap.cacheKey() != self.item.pixmap().cacheKey():
            self.item.setPixmap(pixmap)
            self.scene().setSceneRect(0, 0, pixmap.width(), pixmap.height())

    def has_image(self) -> bool:
        return not self.item.pixmap().isNull()

    def composite(self) -> np.ndarray:
        """What the view shows at 1:1, as a uint8 RGB array (for tests and screenshots)."""
        rect = self.item.boundingRect()
        image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_RGB888)
        image.fill(QColor(0, 0, 0))
        painter = QPainter(image)
        hidden = [it for it in (self.cursor_item, self.path_item) if it.isVisible()]
        for it in hidden:
            it.hide()
        self.scene().render(painter, QRectF(image.rect()), rect)
        painter.end()
        for it in hidden:
            it.show()
        ptr = image.constBits()
        ptr.setsize(image.sizeInBytes())
        rows = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
        return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()

    # -- input ---------------------------------------------------------------------------------
    def scene_point(self, event) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def mousePressEvent(self, event):
        if event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = event.position()
            return
        if self.tool is not None and self.tool.press(self, event):
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        pos = self.scene_point(event)
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            h, v = self.horizontalScrollBar(), self.verticalScrollBar()
            h.setValue(h.value() - int(delta.x()))
            v.setValue(v.value() - int(delta.y()))
        elif self.tool is None or not self.tool.move(self, event):
            super().mouseMoveEvent(event)
        self.hovered.emit(int(np.floor(pos.x())), int(np.floor(pos.y())))

    def mouseReleaseEvent(self, event):
        if event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = None
            return
        if self.tool is not None and self.tool.release(self, event):
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event):
        if self.tool is not None and self.tool.tool != "pan":
            self.tool.double_click()
            return
        super().mouseDoubleClickEvent(event)

    def leaveEvent(self, event):
        self.cursor_item.hide()
        super().leaveEvent(event)

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


class ViewPair(QWidget):
    """Annotation on the left, prediction (or difference) on the right, in lockstep."""

    hovered = pyqtSignal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.left, self.right = SlideCanvas(), SlideCanvas()
        self.left_title, self.right_title = QLabel("Annotation"), QLabel("Prediction")
        outer = self.outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.top = QHBoxLayout()  # the editor's tool bar, over both views so they stay aligned
        outer.addLayout(self.top)
        # One grid: the titles share a row, so a title that wraps keeps both views aligned.
        layout = QGridLayout()
        outer.addLayout(layout, 1)
        for col, (title, view) in enumerate(
            ((self.left_title, self.left), (self.right_title, self.right))
        ):
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            title.setWordWrap(True)
            # Long titles must not make one view wider than the other.
            title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            layout.addWidget(title, 0, col)
            layout.addWidget(view, 1, col)
            layout.setColumnStretch(col, 1)
        layout.setRowStretch(1, 1)
        self.lock = ViewLock(self.left, self.right)
        for view in (self.left, self.right):
            view.hovered.connect(self.hovered)
            view.resized.connect(lambda v=view: self._view_resized(v))

    @property
    def fit_mode(self) -> bool:
        return self.lock.fit_mode

    def _view_resized(self, view: SlideCanvas) -> None:
        if self.fit_mode and view.has_image():
            view.fitInView(view.item, Qt.AspectRatioMode.KeepAspectRatio)

    def zoom(self, factor: float) -> None:
        self.lock.zoom(factor)

    def fit(self) -> None:
        self.lock.fit_mode = True
        for view in (self.left, self.right):
            if view.has_image():
                view.fitInView(view.item, Qt.AspectRatioMode.KeepAspectRatio)

    def actual_size(self) -> None:
        self.lock.actual_size()


class ViewLock:
    """Keeps two views of one scene size at the same zoom and position, whichever the user
    moves; ``fit_mode`` stays on (fit again on resize) until the user zooms."""

    def __init__(self, left: QGraphicsView, right: QGraphicsView):
        self.left, self.right = left, right
        self._syncing = False
        self.fit_mode = True
        for a, b in ((left, right), (right, left)):
            a.zoomed.connect(lambda _f, a=a, b=b: self._user_zoomed(a, b))
            a.horizontalScrollBar().valueChanged.connect(
                lambda v, b=b: self._follow(b.horizontalScrollBar(), v)
            )
            a.verticalScrollBar().valueChanged.connect(
                lambda v, b=b: self._follow(b.verticalScrollBar(), v)
            )

    def _follow(self, bar, value: int) -> None:
        if self._syncing:
            return
        self._syncing = True
        bar.setValue(value)
        self._syncing = False

    def _user_zoomed(self, source: QGraphicsView, target: QGraphicsView) -> None:
        self.fit_mode = False
        self.follow(source, target)

    def follow(self, source: QGraphicsView, target: QGraphicsView) -> None:
        """Give ``target`` the zoom and position of ``source``."""
        self._syncing = True
        target.setTransform(source.transform())
        target.horizontalScrollBar().setValue(source.horizontalScrollBar().value())
        target.verticalScrollBar().setValue(source.verticalScrollBar().value())
        self._syncing = False

    def zoom(self, factor: float) -> None:
        """Zoom both about the centre of the view."""
        self.fit_mode = False
        self.left.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.left.zoom(factor)
        self.left.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.follow(self.left, self.right)

    def actual_size(self) -> None:
        self.fit_mode = False
        self.left.resetTransform()
        self.follow(self.left, self.right)
