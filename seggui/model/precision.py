"""Training in bfloat16 where the CPU has the units for it; models are always saved in float32.

Keras's ``mixed_bfloat16`` keeps every weight in float32 and computes in bfloat16. On a CPU
with AVX512-BF16 or AMX, oneDNN runs those convolutions on its bf16 units; on one without
(AVX2 only), TensorFlow emulates them and a step is slower than in float32
(``bench/step_cost.py`` measures both on the machine it runs on). So "auto" trains in
bfloat16 only on such a CPU, and never on a GPU unless asked (not measured there). The
softmax stays float32 in both, and a model trained in bfloat16 is turned back into a float32
one before it is saved, so every prediction path loads the same kind of model. Training
defaults to float32: on a CPU with AMX, bfloat16 fit a third more epochs in the same time
but learned no more on the real sets (BENCHMARKS.md section 27).
"""

from __future__ import annotations

import keras

from seggui.model.cpu import cpu_has_bf16

#: ``TrainSettings.precision`` values and the Keras dtype policy each trains with.
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
CHOICES = ("auto", *POLICIES)


def training_precision(choice: str, has_gpu: bool | None = None) -> str:
    """The precision a fit runs in: ``choice``, or for "auto" bfloat16 on a CPU with bf16
    units (and no GPU), else float32."""
    if choice in POLICIES:
        return choice
    if choice != "auto":
        raise ValueError(f"unknown precision {choice!r}: one of {', '.join(CHOICES)}")
    if has_gpu is None:
        import tensorflow as tf

        has_gpu = bool(tf.config.list_physical_devices("GPU"))
    return "bfloat16" if cpu_has_bf16() and not has_gpu else "float32"


def with_precision(model: keras.Model, precision: str) -> keras.Model:
    """The same model computing in ``precision`` (a key of :data:`POLICIES`), with the same
    weights; the output layer keeps its own (float32) dtype."""
    policy = POLICIES[precision]
    output = model.layers[-1].name

    def clone(layer):
        config = layer.get_config()
        if layer.name != output and "dtype" in config:
            config["dtype"] = policy
        return layer.__class__.from_config(config)

    twin = keras.models.clone_model(model, clone_function=clone)
    twin.set_weights(model.get_weights())
    return twin
