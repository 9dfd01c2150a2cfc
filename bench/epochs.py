"""Ten epochs no slower than the notebook's ten? (issue 20, step 1)

The same folder and number of epochs, each in a fresh process, one after another:

- **notebook**: every training image resized to 512x512 into one array, the seed's U-Net,
  Adam, cross-entropy, ``model.fit`` (as in bench/quality.py);
- **seggui**: ``seggui.model.train.fit`` with today's defaults (crops from disk, jitter,
  validation every epoch), with the slide cache and without it (``cache_mb=0``).

Reported: seconds of the whole fit (tracing, validation and checkpoints included), seconds
per epoch after the first (the steady state), the pixels an epoch trains on (an epoch is not
the same unit: the notebook resizes every image to 512x512, seggui covers each slide at its
own resolution) and the seconds per megapixel, slides decoded, and each seggui run's ratios
to the notebook measured in the same run.

``--tile 512`` first cuts every slide into 512x512 tiles (a folder like the issue's lung set,
where both epochs hold the same pixels). ``--methods`` picks the runs (the notebook's first;
``seggui-batch=N``: seggui with batches of N crops, the others keeping ``--batch-size``).

    python bench/epochs.py [--folder DIR] [--epochs 3] [--batch-size 4] [--tile 512]
        [--methods notebook,seggui,seggui-no-cache,seggui-batch=16]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import machine, notebook_arrays, save, table

DATA = HERE.parent.parent / "shared" / "data" / "glas-test"


class EpochClock:
    """When each epoch ended (a Keras callback, made lazily so the parent needs no Keras)."""

    @staticmethod
    def make():
        import keras

        class Clock(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.start = time.perf_counter()
                self.ends: list[float] = []
                self.steps = 0  # in the last epoch

            def on_epoch_begin(self, epoch, logs=None):
                self.steps = 0

            def on_train_batch_end(self, batch, logs=None):
                self.steps += 1

            def on_epoch_end(self, epoch, logs=None):
                self.ends.append(time.perf_counter() - self.start)

        return Clock()


def child(method: str, folder: str, epochs: int, batch: int) -> dict:
    import keras

    from seggui.core.cancel import CancelToken
    from seggui.core.curation import curate
    from seggui.core.folder import open_folder
    from seggui.core.train_settings import TrainSettings
    from seggui.model.unet import build_unet

    label = method
    if method.startswith("seggui-batch="):  # seggui with its own batch size
        method, batch = "seggui", int(method.split("=")[1])
    ctx = open_folder(folder)
    clock = EpochClock.make()
    if method == "notebook":
        x, y = notebook_arrays(ctx)
        keras.utils.set_random_seed(1)
        model = build_unet(len(ctx.classes), 16, 4)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        clock.start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[clock])
        decoded = len(x)
        pixels = x.shape[0] * x.shape[1] * x.shape[2]
    else:
        from seggui.model import pipeline
        from seggui.model.train import fit

        counted = []
        real = pipeline.SlideCache.load if method == "seggui" else pipeline.load_pair
        if method == "seggui":
            cache_mb = TrainSettings().cache_mb

            def load(self, item, classes):
                before = self.decoded
                out = real(self, item, classes)
                counted.extend([1] * (self.decoded - before))
                return out

            pipeline.SlideCache.load = load
        else:
            cache_mb = 0

            def load(item, classes):
                counted.append(1)
                return real(item, classes)

            pipeline.load_pair = load
        settings = TrainSettings(epochs=epochs, batch_size=batch, cache_mb=cache_mb)
        with tempfile.TemporaryDirectory() as tmp:
            fit(ctx, curate(ctx).train, settings, lambda p: None, CancelToken(), Path(tmp), [clock])
        decoded = len(counted)
        pixels = clock.steps * batch * settings.patch**2
    ends = clock.ends
    steady = (ends[-1] - ends[0]) / max(1, len(ends) - 1)
    return {
        "method": label,
        "fit s": round(ends[-1], 1),
        "s per epoch after the first": round(steady, 1),
        "Mpx per epoch": round(pixels / 1e6, 2),
        "s per Mpx": round(steady / (pixels / 1e6), 2),
        "slides decoded": decoded,
    }


def tiled(folder: str, tile: int, out: Path) -> Path:
    """A folder of ``tile`` x ``tile`` cuts of ``folder``'s slides and masks (the mask
    files keep their mode and palette)."""
    from PIL import Image

    from seggui.core.folder import open_folder

    (out / "images").mkdir(parents=True)
    (out / "masks").mkdir()
    for slide in open_folder(folder).slides:
        with Image.open(slide.image_path) as image, Image.open(slide.mask_path) as mask:
            w, h = image.size
            for y in range(0, h - tile + 1, tile):
                for x in range(0, w - tile + 1, tile):
                    name = f"{slide.name}_{y}_{x}.png"
                    box = (x, y, x + tile, y + tile)
                    image.convert("RGB").crop(box).save(out / "images" / name)
                    mask.crop(box).save(out / "masks" / name)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", default=str(DATA))
    parser.add_argument("--tile", type=int, default=0)
    parser.add_argument("--methods", default="notebook,seggui,seggui-no-cache")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.folder, args.epochs, args.batch_size)))
        return
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the steady epoch is timed after the first)")
    if args.tile:
        args.folder = str(tiled(args.folder, args.tile, Path(tempfile.mkdtemp()) / "tiles"))
        print(f"{args.folder}: {len(list(Path(args.folder, 'images').iterdir()))} tiles")
    rows = []
    for method in args.methods.split(","):
        cmd = [sys.executable, __file__, "--child", method, "--folder", args.folder]
        cmd += ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(out.stderr[-3000:])
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    notebook = rows[0]
    for row in rows:
        row["fit / notebook"] = round(row["fit s"] / notebook["fit s"], 2)
        row["epoch / notebook"] = round(
            row["s per epoch after the first"] / notebook["s per epoch after the first"], 2
        )
    columns = list(rows[0])
    print(table(rows, columns))
    result = {
        "machine": machine(),
        "folder": args.folder,
        "tile": args.tile,
        "epochs": args.epochs,
        "batch size": args.batch_size,
        "rows": rows,
    }
    print(f"saved {save('epochs', result)}")


if __name__ == "__main__":
    main()
