"""int8 copies of a model: NNCF post-training quantisation of the converted OpenVINO copy,
calibrated on the folder's training slides, and used only when it agrees with fp32.

On CPUs with VNNI, int8 convolutions can beat bf16. Quantisation moves some pixels to
another class, so the copy is checked before use: on slides it was not calibrated on, at
most ``AGREEMENT_LIMIT`` of the pixels may change class against the fp32 copy, and it must
be faster than the default precision in the same run. The check's numbers are saved beside
the copy; :func:`seggui.model.ovcache.cached_runner` takes the int8 copy only when both
held. Importing this module raises ImportError without OpenVINO; quantising needs NNCF too
(``pip install "seggui[fast]"``), reading a saved check does not.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import openvino as ov

from seggui.core.atomic import atomic_write_text
from seggui.model.cpu import cpu_has_bf16
from seggui.model.ovcache import save_ir
from seggui.model.ovgraph import ShapeRunner

AGREEMENT_LIMIT = 0.005  # share of pixels that may change class against fp32
CALIBRATION_TILE = 256


@dataclass
class Int8Check:
    """What the check of an int8 copy found, and whether it is used."""

    changed: float  # share of checked pixels whose class differs from fp32
    limit: float
    ms_int8: float  # per 512x512 tile
    ms_default: float  # the same tile at the default precision (bf16 where the CPU has it)
    default_precision: str
    calibration_tiles: int
    check_images: int

    @property
    def agrees(self) -> bool:
        return self.changed <= self.limit

    @property
    def faster(self) -> bool:
        return self.ms_int8 < 0.95 * self.ms_default

    @property
    def used(self) -> bool:
        return self.agrees and self.faster

    def reason(self) -> str:
        if not self.agrees:
            return f"refused: {self.changed:.2%} of pixels change class (limit {self.limit:.2%})"
        if not self.faster:
            return (
                f"not used: {self.ms_int8:.1f} ms per tile, not faster than {self.ms_default:.1f}"
            )
        return f"used: {self.ms_int8:.1f} ms per tile against {self.ms_default:.1f}"

    def to_json(self) -> dict:
        return {**asdict(self), "agrees": self.agrees, "faster": self.faster, "used": self.used}


class XmlRunner(ShapeRunner):
    """Runs an OpenVINO model read from an ``.xml``, at a given inference precision."""

    def __init__(self, model: ov.Model | Path, precision: str):
        super().__init__(precision)
        self._model = model if isinstance(model, ov.Model) else self._core.read_model(str(model))

    def model_for(self, shape: tuple) -> ov.Model:
        model = self._model.clone()
        model.reshape({model.inputs[0]: ov.PartialShape(list(shape))})
        return model


def int8_paths(xml: Path) -> tuple[Path, Path]:
    """Where the int8 copy of a converted model and its check's report live."""
    return xml.with_name(xml.stem + ".int8.xml"), xml.with_name(xml.stem + ".int8.json")


def read_check(xml: Path) -> Int8Check | None:
    """The saved check of ``xml``'s int8 copy, or None when there is none (or it is damaged)."""
    model_xml, report = int8_paths(xml)
    try:
        data = json.loads(report.read_text())
        check = Int8Check(**{k: data[k] for k in Int8Check.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return check if model_xml.exists() and model_xml.with_suffix(".bin").exists() else None


def calibration_tiles(images: list[np.ndarray], count: int = 32, seed: int = 0) -> list:
    """Up to ``count`` ``CALIBRATION_TILE`` crops spread over the images (float32 RGB)."""
    rng = np.random.default_rng(seed)
    tiles = []
    side = CALIBRATION_TILE
    for i in range(count):
        image = images[i % len(images)]
        h, w = image.shape[:2]
        if h < side or w < side:
            continue
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        tiles.append(np.ascontiguousarray(image[y : y + side, x : x + side], np.float32))
    return tiles


def _labels(runner: ShapeRunner, image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    ph, pw = -h % 32, -w % 32  # any depth up to 5
    padded = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="edge") if ph or pw else image
    return runner(padded[None])[0][0, :h, :w]


def _ms_per_tile(runner: ShapeRunner, runs: int = 5) -> float:
    tile = np.random.default_rng(0).random((1, 512, 512, 3), dtype=np.float32)
    runner(tile)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        runner(tile)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def quantize_and_check(
    xml: Path,
    calibration: list[np.ndarray],
    check: list[np.ndarray],
    limit: float = AGREEMENT_LIMIT,
) -> Int8Check:
    """Quantise the converted model ``xml`` on ``calibration`` tiles, compare it with fp32 on
    the ``check`` images and time it against the default precision; save the copy and the
    report beside ``xml`` (atomically), and return the report."""
    import nncf

    if not calibration:
        raise ValueError("no calibration tiles (slides smaller than 256x256?)")
    core = ov.Core()
    fp32_model = core.read_model(str(xml))
    quantized = nncf.quantize(
        fp32_model,
        nncf.Dataset(calibration, lambda tile: tile[None]),
        subset_size=len(calibration),
    )
    int8_runner = XmlRunner(quantized, "f32")
    fp32_runner = XmlRunner(xml, "f32")
    changed = total = 0
    for image in check:
        a, b = _labels(fp32_runner, image), _labels(int8_runner, image)
        changed += int((a != b).sum())
        total += a.size
    default = "bf16" if cpu_has_bf16() else "f32"
    default_runner = XmlRunner(xml, default)
    ms_default, ms_int8 = _ms_per_tile(default_runner), _ms_per_tile(int8_runner)
    ms_default = min(ms_default, _ms_per_tile(default_runner))  # the better of two, alternated
    result = Int8Check(
        changed / max(total, 1),
        limit,
        ms_int8,
        ms_default,
        default,
        len(calibration),
        len(check),
    )
    model_xml, report = int8_paths(xml)
    save_ir(quantized, model_xml)
    atomic_write_text(report, json.dumps(result.to_json(), indent=1))
    return result


def quantize_for_folder(
    ctx, model_path: Path, meta, calibration: int = 32, check: int = 16, limit: float | None = None
) -> Int8Check:
    """Make and check the int8 copy of ``model_path`` on the folder ``ctx``: calibrated on up
    to ``calibration`` training slides, checked on up to ``check`` test slides (training
    slides past the calibration ones when the test split has none)."""
    from seggui.core.imageio import SlideFileError, read_image
    from seggui.model.ovcache import build_ir, ir_path

    def images(names: list[str], most: int) -> list:
        out = []
        for name in names:
            slide = ctx.scan.get(name)
            if slide is None or not slide.usable or len(out) >= most:
                continue
            try:
                out.append(read_image(slide.image_path))
            except SlideFileError:
                continue
        return out

    train = images(ctx.split.train, calibration)
    checked = images(ctx.split.test, check) or images(ctx.split.train[calibration:], 8)
    if not train or not checked:
        raise ValueError("quantising needs readable training slides and others to check on")
    xml = ir_path(model_path)
    if not xml.exists():
        build_ir(model_path, meta, xml)
    return quantize_and_check(
        xml,
        calibration_tiles(train, calibration),
        checked,
        AGREEMENT_LIMIT if limit is None else limit,
    )


def ensure_int8(ctx, model_path: Path, meta) -> Int8Check | None:
    """The int8 check of a model, made now if it has none (after a retrain, or the first time
    a folder uses the bundled model); None where OpenVINO, NNCF or the slides are missing."""
    try:
        from seggui.model.ovcache import ir_path

        found = read_check(ir_path(model_path))
        if found is not None:
            return found
        import nncf  # noqa: F401  (only to know it is there)
    except ImportError:
        return None
    try:
        return quantize_for_folder(ctx, model_path, meta)
    except ValueError:
        return None
