"""The tables that pass between stages, defined once: the manifest, the humans CSV, predictions, the scores file.

A trial is one observer's answer to one stimulus in one condition. Humans and models are written in the same
shape (bethgelab model-vs-human's one raw-data table): the humans CSV names the observer `participant` and the
answer `response`; predictions.csv names them `model` and `predicted`, and adds which output (`head`) answered.

The scores file RUN/scores.npz holds the raw material every readout starts from (readout.py):

    stimulus_ids  [N] str    the evaluated stimuli, in one order (manifest order of the split)
    clip_ids      [N] str    the clip each stimulus was sampled from
    classes       [C] str    class names in label order
    labels        [N] int    true label of each stimulus
    manifest      []  str    sha256 of the stimulus set's manifest.csv (which set these scores belong to)
    "M/H/K"       [N, C] float32   logits of model M's head H on condition K (K = swap: nan rows where a
                                   stimulus has no swap)
    swap_scene    [N] int  optional: the class index of each stimulus's swap background (-1: no swap)
"""

from __future__ import annotations

CONDITIONS: tuple[str, ...] = ("original", "body", "background")

# stimuli/: one row per sampled frame (STIM/manifest.csv), the optional flow images, the skipped frames.
MANIFEST_COLUMNS: tuple[str, ...] = (
    "stimulus_id", "clip_id", "class", "label", "split", "frame_index",
    "original", "body", "background", "mask", "mask_area", "persons", "residual_person", "status",
)  # fmt: skip
FLOW_COLUMNS: tuple[str, ...] = ("flow_original", "flow_body", "flow_background")
# optional, how each background-only frame was made: the mask scope used, the share of the frame hidden, and the
# share of that region filled from other frames (inpaint temporal; empty otherwise)
FILL_COLUMNS: tuple[str, ...] = ("mask_scope", "region_area", "temporal_share")
# how the stimulus images are stored: png (lossless), jpg or webp, and the jpg/webp quality (empty for png)
IMAGE_COLUMNS: tuple[str, ...] = ("image_format", "image_quality")
# optional, the action-swap stimuli (prepare.swap; stimuli/swap.py): the composite (this row's body on another
# stimulus's background-only frame), what DomainNet's two streams see of it, and which stimulus and class gave the
# background. Empty where the row has no swap.
SWAP_CONDITION = "swap"
SWAP_COLUMNS: tuple[str, ...] = (
    "swap", "swap_body", "swap_background", "swap_background_id", "swap_background_label",
)  # fmt: skip
# optional, prepare.audio (stimuli/sound.py): the clip's log-mel spectrogram (.npy, float32 [n_mels, frames], dB);
# empty where the clip has no usable sound (skipped.csv says why), which an audio stream hears as silence
AUDIO_COLUMNS: tuple[str, ...] = ("audio",)
SKIPPED_COLUMNS: tuple[str, ...] = ("clip_id", "path", "frame_index", "reason")

# humans/: one row per trial. `choices`: the class names the trial offered, joined by CHOICE_SEPARATOR
# (absent or empty: every class was offered). `kind`: stimulus (absent or empty), or one of the rows that are not
# scored: practice (stimulus_id = the practice frame or clip, with feedback) and attention ("please click X":
# label = X, stimulus_id = attention-K, condition empty). `unit`: frame (stimulus_id is a manifest stimulus) or
# clip (stimulus_id is a clip_id; the trial played the clip).
HUMAN_REQUIRED: tuple[str, ...] = ("participant", "stimulus_id", "condition", "label", "response")
HUMAN_OPTIONAL: tuple[str, ...] = ("rt_ms", "trial", "choices", "kind", "unit")
HUMAN_COLUMNS: tuple[str, ...] = HUMAN_REQUIRED + HUMAN_OPTIONAL  # what the browser experiment writes
CHOICE_SEPARATOR = "|"
TRIAL_KINDS: tuple[str, ...] = ("stimulus", "practice", "attention")

# evaluate: one row per model x head x condition x evaluated stimulus (frame unit).
PREDICTION_COLUMNS: tuple[str, ...] = (
    "model", "head", "condition", "stimulus_id", "clip_id", "label", "predicted", "confidence",
)  # fmt: skip
RESULT_COLUMNS: tuple[str, ...] = ("model", "head", "unit", "condition", "accuracy", "ci_low", "ci_high", "n", "chance")

# Model outputs. Every model has `combined` (its answer); multi-stream models add one head per stream.
COMBINED = "combined"
HEADS: tuple[str, ...] = (COMBINED, "body", "background", "flow", "audio")
SILENCE_DB = -100.0  # the floor of a log-mel spectrogram (stimuli/sound.py): silence, and a silenced audio input
UNITS: tuple[str, ...] = ("frame", "clip")

SCORES_FILE = "scores.npz"
SCORES_META: tuple[str, ...] = ("stimulus_ids", "clip_ids", "classes", "labels", "manifest")
SCORES_OPTIONAL: tuple[str, ...] = ("swap_scene",)


def scores_key(model: str, head: str, condition: str) -> str:
    return f"{model}/{head}/{condition}"


def parse_scores_key(key: str) -> tuple[str, str, str]:
    model, head, condition = key.rsplit("/", 2)
    return model, head, condition
