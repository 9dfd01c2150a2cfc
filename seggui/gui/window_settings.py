"""The window's remembered settings: geometry, docks, overlay, brush size, recent folders."""

from __future__ import annotations

from pathlib import Path


class SettingsMixin:
    """Part of :class:`~seggui.gui.main_window.MainWindow` (which provides the widgets)."""

    # -- settings --------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        if s.value("geometry") is not None:
            self.restoreGeometry(s.value("geometry"))
        if s.value("windowState") is not None:
            self.restoreState(s.value("windowState"))
        self.overlay.opacity.setValue(int(s.value("overlay/opacity", 45)))
        self.overlay.enabled.setChecked(s.value("overlay/enabled", "true") in (True, "true"))
        contour = s.value("overlay/contour", "false") in (True, "true")
        (self.overlay.contour if contour else self.overlay.fill).setChecked(True)
        self.editor.set_size(int(s.value("editor/size", 9)))
        self._sync_tool_actions()

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("windowState", self.saveState())
        s.setValue("overlay/opacity", self.overlay.opacity.value())
        s.setValue("overlay/enabled", self.overlay.enabled.isChecked())
        s.setValue("overlay/contour", self.overlay.contour.isChecked())
        s.setValue("editor/size", self.editor.size)
        s.sync()

    def recent_folders(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, folder: Path) -> None:
        recent = [str(folder)] + [f for f in self.recent_folders() if f != str(folder)]
        self.settings.setValue("recent", recent[:10])
        self.settings.setValue("lastFolder", str(folder))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for folder in self.recent_folders():
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda _=False, f=folder: self.open_folder(f))
        if not self.recent_folders():
            self.recent_menu.addAction("(none)").setEnabled(False)
