"""Whole slides: reader speed (tiffslide vs OpenSlide), tissue skipping, tiled prediction's
overhead against the model alone, reopening a predicted slide, and the GeoJSON round trip.

A pyramidal tiled TIFF (JPEG tiles, levels 1, 4, 16, 64) is stitched from the real GlaS
tiles in ../shared/data with glass between them, and a GeoJSON made from their masks.

    python bench/wsi.py [--size 8192] [--tile 1024]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import machine, save, table

DATA = HERE.parent.parent / "shared" / "data" / "glas-test"


def make_slide(size: int, folder: Path) -> tuple[Path, Path, np.ndarray]:
    """A ``size`` x ``size`` slide of real GlaS tiles on glass, and its GeoJSON."""
    from seggui.core.classes import ClassSet
    from seggui.core.export import mask_features
    from seggui.core.wsi import write_pyramid

    canvas = np.full((size, size, 3), 238, np.uint8)
    labels = np.full((size, size), 255, np.uint8)
    images = sorted((DATA / "images").glob("*.png"))
    rng = np.random.default_rng(0)
    i = 0
    lo, hi = size // 5, size - size // 5  # glass all around, as on a real slide
    for y in range(lo, hi - 600, 700):
        for x in range(lo, hi - 850, 900):
            if rng.random() < 0.25:
                continue  # glass: about a quarter of the places hold no tissue
            path = images[i % len(images)]
            with Image.open(path) as im:
                tile = np.asarray(im.convert("RGB"))[:522, :775]
            with Image.open(DATA / "masks" / path.name) as m:
                mask = (np.asarray(m)[:522, :775] > 0).astype(np.uint8)
            canvas[y : y + tile.shape[0], x : x + tile.shape[1]] = tile
            labels[y : y + mask.shape[0], x : x + mask.shape[1]] = mask
            i += 1
    slide = write_pyramid(folder / "glas.tiff", canvas, (1, 4, 16, 64), mpp=0.5)
    classes = ClassSet.default(2, names=["background", "gland"])
    geo = folder / "glas.geojson"  # only the pasted tiles are annotated: glass stays unknown
    geo.write_text(json.dumps(mask_features(labels, classes, include_background=True)))
    return slide, geo, labels


def readers(path: Path) -> list[dict]:
    rows = []
    for name in ("tiffslide", "openslide"):
        try:
            mod = __import__(name)
        except ImportError:
            continue
        opener = mod.TiffSlide if name == "tiffslide" else mod.OpenSlide
        slide = opener(str(path))
        for level in range(min(3, slide.level_count)):
            w, h = slide.level_dimensions[level]
            d = slide.level_downsamples[level]
            coords = [(x, y) for y in range(0, h - 256, 256) for x in range(0, w - 256, 256)][:64]
            t = time.perf_counter()
            for x, y in coords:
                slide.read_region((int(x * d), int(y * d)), level, (256, 256))
            ms = 1000 * (time.perf_counter() - t) / len(coords)
            rows.append({"reader": name, "level": level, "ms per 256 tile": round(ms, 2)})
        slide.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--tile", type=int, default=1024)
    args = parser.parse_args()
    from seggui.core.annotations import load_annotations
    from seggui.core.classes import ClassSet
    from seggui.core.registry import bundled_model_path, read_meta
    from seggui.core.wsi import open_slide
    from seggui.model.predict import Predictor
    from seggui.model.slide_predict import TileStore, plan_slide, predict_slide
    from seggui.model.tiled import halo_for

    out: dict = {"machine": machine(), "size": args.size, "tile": args.tile}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        path, geo, keep = make_slide(args.size, folder)
        out["make_s"] = time.perf_counter() - t
        rows = readers(path)
        print(table(rows, ["reader", "level", "ms per 256 tile"]))
        out["readers"] = rows

        # GeoJSON round trip: rasterised at pixel centres, IoU per class.
        classes = ClassSet.default(2, names=["background", "gland"])
        t = time.perf_counter()
        ann = load_annotations(geo, classes)
        back = ann.rasterise(0, 0, args.size, args.size)
        out["geojson_rasterise_s"] = time.perf_counter() - t
        out["geojson_iou"] = {
            c.name: float(
                ((back == k) & (keep == k)).sum() / max(1, ((back == k) | (keep == k)).sum())
            )
            for k, c in enumerate(classes)
        }
        print("GeoJSON round trip IoU:", out["geojson_iou"])

        model = bundled_model_path()
        meta = read_meta(model)
        predictor = Predictor.from_path(model, meta)
        slide = open_slide(path)
        t = time.perf_counter()
        plan = plan_slide(slide, meta.depth, tile=args.tile)
        out["plan_s"] = time.perf_counter() - t
        out["tiles"] = plan.grid.columns * plan.grid.rows
        out["tissue_tiles"] = len(plan.tissue)
        out["skipped_share"] = plan.skipped_share
        store = TileStore(folder / "store", plan.grid)
        t = time.perf_counter()
        predict_slide(predictor, plan, store)
        total = time.perf_counter() - t
        out["predict_s"] = total
        # The model alone on the same windows (tile + halo), in memory, same run.
        halo = halo_for(meta.depth)
        window = np.random.default_rng(0).random((1, args.tile + 2 * halo, args.tile + 2 * halo, 3))
        window = window.astype(np.float32)
        predictor.infer(window)
        t = time.perf_counter()
        for _ in range(3):
            predictor.infer(window)
        model_ms = 1000 * (time.perf_counter() - t) / 3
        bare = window[:, : args.tile, : args.tile]
        predictor.infer(bare)
        t = time.perf_counter()
        for _ in range(3):
            predictor.infer(bare)
        bare_ms = 1000 * (time.perf_counter() - t) / 3
        per_tile_ms = 1000 * total / max(1, len(plan.tissue))
        out.update(
            model_window_ms=model_ms,
            model_bare_tile_ms=bare_ms,
            pipeline_ms_per_tile=per_tile_ms,
            overhead_vs_window=per_tile_ms / model_ms - 1,
            overhead_vs_bare_tile=per_tile_ms / bare_ms - 1,
        )
        t = time.perf_counter()
        reopened = predict_slide(predictor, plan_slide(slide, meta.depth, tile=args.tile), store)
        out["reopen_s"] = time.perf_counter() - t
        assert reopened == 0
        print(
            f"{out['tissue_tiles']} of {out['tiles']} tiles hold tissue "
            f"({out['skipped_share']:.0%} skipped); {per_tile_ms:.0f} ms per tile "
            f"against {model_ms:.0f} ms for the model on the same window "
            f"({out['overhead_vs_window']:+.0%}) and {bare_ms:.0f} ms on the bare tile "
            f"({out['overhead_vs_bare_tile']:+.0%}, the halo's share); reopening "
            f"{out['reopen_s']:.2f} s"
        )
    print(save("wsi", out))


if __name__ == "__main__":
    main()
