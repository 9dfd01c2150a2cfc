"""A whole slide's GeoJSON annotation parsed and drawn in a process of its own, for the window.

Parsing a big GeoJSON (json) and drawing its polygons (rasterio) both hold Python's lock for
their whole call: a second for a 10 MB file, 60 ms for a 512-pixel tile of a busy region on
this machine, during which the window cannot paint even though the work runs in a worker
thread. So the window starts ``python -m seggui.core.annotation_server``: it parses the
file, sends back the regions packed as a few arrays with a coarse overview of the whole
slide (zoomed-out views sample it), then draws each tile asked for on its standard input
(``x y width height downsample``) and answers with the tile's bytes. Reading the answer
releases the lock. If the process goes away, tiles are drawn in this process instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from seggui.core.annotations import SlideAnnotations, load_annotations
from seggui.core.classes import ClassSet
from seggui.core.imageio import SlideFileError


class ServedAnnotations(SlideAnnotations):
    """The annotation as :class:`SlideAnnotations` (problems, overview, object count), its
    tiles drawn by the server process. The regions stay packed here (as Python lists they
    would take about 180 MB for 1.5 million points) until this process has to draw."""

    def __init__(self, packed: dict, process: subprocess.Popen):
        overview = packed["overview"] if packed["overview"].size else None
        super().__init__([], list(packed["problems"]), overview, int(packed["overview_step"]))
        self._packed = packed
        self._process = process
        self._lock = threading.Lock()

    def object_count(self) -> int:
        return len(self._packed["values"])

    def rasterise(self, x: int, y: int, width: int, height: int, downsample: float = 1.0):
        if self.overview is not None and downsample >= self.overview_step:
            return super().rasterise(x, y, width, height, downsample)
        with self._lock:
            process = self._process
            if process is not None and process.poll() is None:
                try:
                    process.stdin.write(f"{x} {y} {width} {height} {downsample!r}\n".encode())
                    process.stdin.flush()
                    data = process.stdout.read(width * height)
                except OSError:
                    data = b""
                if len(data) == width * height:
                    return np.frombuffer(data, np.uint8).reshape(height, width).copy()
                self._process = None
            if not self.regions and self.object_count():
                self.regions = SlideAnnotations.unpack(self._packed).regions
        return super().rasterise(x, y, width, height, downsample)

    def close(self) -> None:
        """Stop the server without waiting for it (it only reads; it also ends when this
        process does, its input closing)."""
        with self._lock:
            process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            threading.Thread(target=process.wait, daemon=True).start()


def serve(path: Path, classes: ClassSet, slide_size: tuple[int, int]) -> ServedAnnotations:
    """Start the server on ``path``; :class:`SlideFileError` when it cannot read the file."""
    with tempfile.TemporaryDirectory(prefix="seggui-geojson-") as tmp:
        out = Path(tmp) / "packed.npz"
        command = [
            sys.executable,
            "-m",
            "seggui.core.annotation_server",
            str(path),
            json.dumps(list(classes.names)),
            str(out),
            *(str(v) for v in slide_size),
        ]
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        ready = process.stdout.readline()
        if ready.strip() != b"ready" or not out.exists():
            process.kill()
            lines = process.stderr.read().decode(errors="replace").strip().splitlines()
            raise SlideFileError(path, f"not readable GeoJSON ({(lines or ['no reason'])[-1]})")
        with np.load(out) as data:
            packed = {k: data[k] for k in data.files}
    packed["problems"] = [str(p) for p in packed["problems"]]
    return ServedAnnotations(packed, process)


def _main(path: str, names_json: str, out: str, width: str, height: str) -> None:
    names = json.loads(names_json)
    annotations = load_annotations(path, ClassSet.default(len(names), names=names))
    annotations.add_overview(int(width), int(height))
    packed = annotations.pack()
    packed["problems"] = np.array(packed["problems"], dtype=str)
    with open(out, "wb") as fh:
        np.savez(fh, **packed)
    sys.stdout.buffer.write(b"ready\n")
    sys.stdout.buffer.flush()
    for line in sys.stdin.buffer:
        x, y, w, h, downsample = line.split()
        tile = annotations.rasterise(int(x), int(y), int(w), int(h), float(downsample))
        sys.stdout.buffer.write(np.ascontiguousarray(tile, np.uint8).tobytes())
        sys.stdout.buffer.flush()


if __name__ == "__main__":  # python -m seggui.core.annotation_server GEOJSON NAMES OUT W H
    try:
        _main(*sys.argv[1:6])
    except SlideFileError as exc:
        sys.exit(exc.reason)
