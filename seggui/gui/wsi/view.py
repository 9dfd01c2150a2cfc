"""A whole slide on screen: tiles of the pyramid level that matches the zoom, and an overlay
of per-tile indexed layers, drawn from a shared cache; two views locked together.

The scene is in level-0 pixels. Painting never reads a file: a view draws the slide's
thumbnail under everything (so a region not loaded yet is blurred, never blank), then the
image tiles of its level that the cache holds, then the overlay tiles, and asks for the
tiles it lacks (``wanted``), which loaders read off the UI thread.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PyQt6.QtWidgets import (
    QGraphicsScene,
    QGraphicsView,
    QGridLayout,
    QLabel,
    QSizePolicy,
    QWidget,
)

from seggui.gui.viewer.canvas import ViewLock

VIEW_TILE = 512  # pixels of a tile at its level (image) or overlay scale
MAX_SCALE = 8.0  # screen pixels per level-0 pixel, at most
CONVERTED_TILES = 32  # overlay tiles kept converted for painting, per view (1 MB each)
SETTLE_MS = 150  # a view at rest this long is drawn again, smoothly
Key = tuple
Box = tuple[float, float, float, float]
#: Outline colours of marked regions, by review state (None: drawn or proposed, not marked).
REGION_COLORS = {
    None: QColor(255, 255, 255),
    "accepted": QColor(60, 180, 75),
    "needs fix": QColor(245, 130, 48),
    "rejected": QColor(230, 25, 75),
    "corrected": QColor(0, 130, 200),
}


def overlay_scale(downsample: float) -> int:
    """The overlay's scale for a view showing ``downsample`` level-0 pixels per screen
    pixel: the power of two at or below it, at least 1 (overlays never finer than level 0)."""
    return 1 if downsample <= 1 else 2 ** math.floor(math.log2(downsample))


def tiles_over(
    rect: QRectF, downsample: float, width: int, height: int, centre_first: bool = True
) -> list[tuple]:
    """``(col, row)`` of the :data:`VIEW_TILE` tiles at ``downsample`` that meet ``rect``
    (level-0 pixels) inside a ``width`` x ``height`` slide, centre first (for loading)."""
    size = VIEW_TILE * downsample
    x0, y0 = max(rect.left(), 0), max(rect.top(), 0)
    x1, y1 = min(rect.right(), width), min(rect.bottom(), height)
    if x1 <= x0 or y1 <= y0:
        return []
    cols = range(int(x0 // size), math.ceil(x1 / size))
    rows = range(int(y0 // size), math.ceil(y1 / size))
    cx, cy = (x0 + x1) / 2 / size, (y0 + y1) / 2 / size
    tiles = [(c, r) for r in rows for c in cols]
    if not centre_first:
        return tiles
    return sorted(tiles, key=lambda t: (t[0] + 0.5 - cx) ** 2 + (t[1] + 0.5 - cy) ** 2)


class WholeSlideView(QGraphicsView):
    """One view of the open whole slide; ``overlay`` names the layer drawn over the image
    (``"annotation"`` or ``"prediction"``) and ``field`` which of its arrays."""

    hovered = pyqtSignal(int, int)
    zoomed = pyqtSignal(float)
    wanted = pyqtSignal()  # the view moved: it shows other tiles now
    resized = pyqtSignal()
    region_drawn = pyqtSignal(object)  # Box: the reviewer drew a rectangle (Shift+drag)

    def __init__(self, overlay: str, cache: Callable[[Key], object], parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.overlay = overlay
        self.cache = cache
        self.levels: list[tuple[int, int, float]] = []  # width, height, downsample
        self.thumb: QImage | None = None
        self.field = "labels"
        self.table: list[int] = [0] * 256
        self.opacity = 0.5
        self.show_overlay = True
        self.regions: list[tuple[Box, str | None, bool]] = []  # box, state, active
        # Overlay tiles as the painter wants them (premultiplied ARGB), so a paint converts
        # only tiles it has not drawn in this style before.
        self._drawn: OrderedDict[tuple, tuple[np.ndarray, list[int], QImage]] = OrderedDict()
        self._drawing: QPointF | None = None
        self._moving = False  # panning or zooming: draw fast, smooth once it rests
        self._settle_timer = QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(SETTLE_MS)
        self._settle_timer.timeout.connect(self._settle)
        self._rubber: QRectF | None = None
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
        self.setBackgroundBrush(Qt.GlobalColor.darkGray)
        self.setMouseTracking(True)
        self.setMinimumSize(200, 200)
        for bar in (self.horizontalScrollBar(), self.verticalScrollBar()):
            bar.valueChanged.connect(self.wanted)
            bar.valueChanged.connect(self._moved)

    # -- content ---------------------------------------------------------------------------------
    def set_slide(self, levels: list[tuple[int, int, float]], thumb: QImage | None) -> None:
        self.levels = levels
        self.thumb = QPixmap.fromImage(thumb) if thumb is not None else None
        self._drawn.clear()
        if levels:
            self.scene().setSceneRect(0, 0, levels[0][0], levels[0][1])
        self.viewport().update()

    def has_image(self) -> bool:
        return bool(self.levels)

    def downsample(self) -> float:
        """Level-0 pixels per screen pixel at the current zoom."""
        return 1.0 / max(self.transform().m11(), 1e-9)

    def level(self) -> int:
        """The most reduced level with at least the detail the screen shows."""
        d = self.downsample()
        best = 0
        for i, (_, _, ds) in enumerate(self.levels):
            if ds <= d * 1.001:
                best = i
        return best

    def visible_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()

    def visible_keys(self) -> tuple[list[Key], list[Key]]:
        """The image tiles and overlay tiles this view shows now, centre first."""
        if not self.levels:
            return [], []
        w, h = self.levels[0][:2]
        rect = self.visible_rect()
        level = self.level()
        ds = self.levels[level][2]
        images = [("image", level, c, r) for c, r in tiles_over(rect, ds, w, h)]
        scale = overlay_scale(self.downsample())
        overlays = [(self.overlay, scale, c, r) for c, r in tiles_over(rect, scale, w, h)]
        return images, overlays

    def fit(self) -> None:
        if self.levels:
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def show_box(self, box: tuple[float, float, float, float]) -> None:
        """Zoom to the level-0 rectangle ``x0, y0, x1, y1`` with some context around it."""
        x0, y0, x1, y1 = box
        pad = 0.25 * max(x1 - x0, y1 - y0)
        self.fitInView(
            QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad),
            Qt.AspectRatioMode.KeepAspectRatio,
        )

    # -- drawing ---------------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, QColor(64, 64, 64))
        if not self.levels:
            return
        w, h = self.levels[0][:2]
        # Smooth scaling costs most of a paint: used once the view rests (see _settle).
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not self._moving)
        level = self.level()
        ds = self.levels[level][2]
        size = VIEW_TILE * ds
        for col, row in tiles_over(rect, ds, w, h, centre_first=False):
            image = self.cache(("image", level, col, row))
            if image is not None:
                target = QRectF(col * size, row * size, image.width() * ds, image.height() * ds)
                painter.drawImage(target, image)
            elif self.thumb is not None:  # not read yet: the thumbnail's part, blurred
                target = QRectF(col * size, row * size, size, size).intersected(QRectF(0, 0, w, h))
                k = self.thumb.width() / w
                source = QRectF(
                    target.x() * k, target.y() * k, target.width() * k, target.height() * k
                )
                painter.drawPixmap(target, self.thumb, source)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self.levels and self.show_overlay:
            self._draw_overlay(painter, rect)
        for box, state, active in self.regions:
            pen = QPen(REGION_COLORS.get(state, REGION_COLORS[None]), 3 if active else 1.5)
            pen.setCosmetic(True)
            if state is None:
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(box[0], box[1], box[2] - box[0], box[3] - box[1]))
        if self._rubber is not None:
            pen = QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawRect(self._rubber)

    def _draw_overlay(self, painter: QPainter, rect: QRectF) -> None:
        w, h = self.levels[0][:2]
        scale = overlay_scale(self.downsample())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.setOpacity(self.opacity)
        size = VIEW_TILE * scale
        for col, row in tiles_over(rect, scale, w, h, centre_first=False):
            key = (self.overlay, scale, col, row)
            layers = self.cache(key)
            array = None if layers is None else layers.get(self.field)
            if array is None:
                continue
            image = self._converted(key, array)
            target = QRectF(col * size, row * size, image.width() * scale, image.height() * scale)
            painter.drawImage(target, image)
        painter.setOpacity(1.0)

    def _moved(self) -> None:
        self._moving = True
        self._settle_timer.start()

    def _settle(self) -> None:
        self._moving = False
        self.viewport().update()

    def _converted(self, key: tuple, array: np.ndarray) -> QImage:
        """The overlay tile through the current colour table, converted once."""
        hit = self._drawn.get((key, self.field))
        if hit is not None and hit[0] is array and hit[1] is self.table:
            self._drawn.move_to_end((key, self.field))
            return hit[2]
        h, w = array.shape
        indexed = QImage(array.data, w, h, w, QImage.Format.Format_Indexed8)
        indexed.setColorTable(self.table)
        image = indexed.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
        self._drawn[(key, self.field)] = (array, self.table, image)
        while len(self._drawn) > CONVERTED_TILES:
            self._drawn.popitem(last=False)
        return image

    # -- input -----------------------------------------------------------------------------------
    def mousePressEvent(self, event):
        if (
            event.button() == Qt.MouseButton.LeftButton
            and event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            and self.levels
        ):
            self._drawing = self.mapToScene(event.position().toPoint())
            self._rubber = QRectF(self._drawing, self._drawing)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        pos = self.mapToScene(event.position().toPoint())
        if self._drawing is not None:
            self._rubber = QRectF(self._drawing, pos).normalized()
            self.viewport().update()
        else:
            super().mouseMoveEvent(event)
        self.hovered.emit(int(pos.x()), int(pos.y()))

    def mouseReleaseEvent(self, event):
        if self._drawing is not None:
            rect = self._rubber.intersected(self.sceneRect())
            self._drawing = self._rubber = None
            self.viewport().update()
            if (
                rect.width() * self.transform().m11() >= 8
                and rect.height() * self.transform().m11() >= 8
            ):
                self.region_drawn.emit(
                    (
                        round(rect.left()),
                        round(rect.top()),
                        round(rect.right()),
                        round(rect.bottom()),
                    )
                )
            return
        super().mouseReleaseEvent(event)

    def wheelEvent(self, event):
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        self.zoom(factor)
        self.zoomed.emit(factor)

    def zoom(self, factor: float) -> None:
        """Zoom by ``factor`` between the whole slide in the view and :data:`MAX_SCALE`."""
        if not self.levels:
            return
        current = self.transform().m11()
        view = self.viewport().rect()
        fitted = min(view.width() / self.levels[0][0], view.height() / self.levels[0][1])
        if fitted * 0.49 <= current * factor <= MAX_SCALE:
            self._moved()
            self.scale(factor, factor)
            self.wanted.emit()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.resized.emit()
        self.wanted.emit()


class WholeSlidePair(QWidget):
    """Annotation on the left, prediction (or a review layer) on the right, locked together."""

    hovered = pyqtSignal(int, int)
    wanted = pyqtSignal()
    region_drawn = pyqtSignal(object)

    def __init__(self, cache: Callable[[Key], object], parent=None):
        super().__init__(parent)
        self.left = WholeSlideView("annotation", cache)
        self.right = WholeSlideView("prediction", cache)
        self.left_title, self.right_title = QLabel("Annotation"), QLabel("Prediction")
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for col, (title, view) in enumerate(
            ((self.left_title, self.left), (self.right_title, self.right))
        ):
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            title.setWordWrap(True)
            title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            layout.addWidget(title, 0, col)
            layout.addWidget(view, 1, col)
            layout.setColumnStretch(col, 1)
        layout.setRowStretch(1, 1)
        self.lock = ViewLock(self.left, self.right)
        # One request per event-loop turn, however many scroll bars moved.
        self._want_timer = QTimer(self)
        self._want_timer.setSingleShot(True)
        self._want_timer.setInterval(0)
        self._want_timer.timeout.connect(self.wanted)
        for view in (self.left, self.right):
            view.hovered.connect(self.hovered)
            view.region_drawn.connect(self.region_drawn)
            view.wanted.connect(self._want_timer.start)
            view.resized.connect(lambda v=view: self._refit(v))

    def views(self) -> tuple[WholeSlideView, WholeSlideView]:
        return self.left, self.right

    def set_slide(self, levels, thumb: QImage | None) -> None:
        for view in self.views():
            view.set_slide(levels, thumb)
        self.fit()

    def _refit(self, view: WholeSlideView) -> None:
        if self.lock.fit_mode and view.has_image():
            view.fit()

    def set_regions(self, regions: list[tuple[Box, str | None, bool]]) -> None:
        for view in self.views():
            view.regions = regions
        self.repaint_views()

    def repaint_views(self) -> None:
        for view in self.views():
            view.viewport().update()

    def zoom(self, factor: float) -> None:
        self.lock.zoom(factor)
        self.wanted.emit()

    def fit(self) -> None:
        self.lock.fit_mode = True
        for view in self.views():
            view.fit()
        self.wanted.emit()

    def actual_size(self) -> None:
        self.lock.actual_size()
        self.wanted.emit()

    def show_box(self, box) -> None:
        self.lock.fit_mode = False
        self.left.show_box(box)
        self.lock.follow(self.left, self.right)
        self.wanted.emit()
