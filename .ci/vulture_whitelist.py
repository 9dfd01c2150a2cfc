"""Names vulture cannot see used, each with the reason it stays (``vulture seggui`` with this
file reports nothing; .ci/run checks it)."""

# ruff: noqa
from seggui.cli import registry
from seggui.core import editing, imageio, records, review, train_events, wsi
from seggui.gui import workers
from seggui.gui.slides import table_model
from seggui.gui.training import panel
from seggui.gui.viewer import canvas
from seggui.gui.wsi import view as wsi_view
from seggui.model import cluster_jobs, int8, progress, sampling, schedule, slide_predict, tiled

# The README's command block is made from it, and a test checks the two are equal.
registry.synopsis
# The undo history's size and bounds: the contract the README states (at least 100 steps);
# the editor tests and bench/gui.py read them.
editing.EditableMask.can_undo
editing.EditableMask.steps
editing.EditableMask.history_bytes
# Pillow's module settings: a truncated file fails (and is reported) instead of showing
# half decoded; the size limit is seggui's own, checked from the header.
imageio.ImageFile.LOAD_TRUNCATED_IMAGES
imageio.Image.MAX_IMAGE_PIXELS
# The check that running totals equal a recount (tests, and the whole-slide tiles' sums).
records.ScoreRecords.recount
records.ScoreRecords.totals
# Dataclass fields, written to and read from SQLite / JSON.
review.Review.updated
train_events.TrainProgress.val_loss
# Qt's virtual methods, called by Qt.
table_model.SlideTableModel.columnCount
table_model.SlideTableModel.headerData
table_model.SlideFilter.filterAcceptsRow
canvas.IndexedLayer.paint
canvas.SlideCanvas.wheelEvent
# What a view shows at 1:1 (image and visible layers): the observable the window tests check.
canvas.SlideCanvas.composite
# The last run's final event (Done, AuditDone, RunCancelled or Failed), kept for inspection.
panel.RetrainPanel.last_result
# The int8 check's report field, read by bench/int8.py.
int8.Int8Check.check_images
# Keras callback hooks, called by Keras; stop_training is read by Keras' fit loop.
progress.ProgressAndCancel.on_epoch_begin
progress.ProgressAndCancel.on_train_batch_end
progress.ProgressAndCancel.on_epoch_end
progress.ProgressAndCancel.stop_training
schedule.WarmupCosine.on_train_begin
schedule.WarmupCosine.on_train_batch_begin
# The share of crops the planner promises each class: the sampling test checks it is met.
sampling.CropPlanner.promised_share
# Whole slides: makes the test slides and bench/wsi.py's (real tiles stitched into a pyramid);
# the share of glass tiles skipped and the whole-image form of tiled prediction, which the
# tests check against Predictor.predict and the benchmark reports.
wsi.write_pyramid
slide_predict.SlidePlan.skipped_share
tiled.predict_image
# Qt's virtual methods of the whole-slide view, called by Qt when it paints.
wsi_view.WholeSlideView.drawBackground
wsi_view.WholeSlideView.drawForeground
# Run on every Dask worker by the cluster test (client.run), to see each loaded the model once.
cluster_jobs.model_loads
# The whole-slide test waits on it so that a read in flight lands before it counts reads.
workers.LatestWorker.busy
