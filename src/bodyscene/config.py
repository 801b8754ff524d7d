"""Pydantic models for every stage: YAML in, validated, one clear line per mistake."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bodyscene.errors import BodySceneError
from bodyscene.schema import CONDITIONS  # noqa: F401 - re-exported: stages import it from here

CONFIG_DIR = Path(__file__).parent / "configs"  # packaged configs: demo.yaml, paper.yaml, experiments/*.yaml
Condition = Literal["original", "body", "background"]
SPLITS: tuple[str, ...] = ("train", "val", "test")
FramesPerClip = Annotated[int, Field(ge=1)] | Literal["all"]
Precision = Literal["auto", "32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true"]


class StrictModel(BaseModel):
    """Unknown keys are errors, so a typo in a config never silently falls back to a default."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SynthConfig(StrictModel):
    classes: int = Field(10, ge=2, le=20, description="number of action classes")
    scene_types: int = Field(5, ge=1, le=20, description="scene types shared between classes")
    train_clips: int = Field(40, ge=1, description="training clips per class")
    val_clips: int = Field(4, ge=0, description="validation clips per class")
    test_clips: int = Field(8, ge=1, description="test clips per class")
    frames: int = Field(8, ge=1, description="frames per clip (T)")
    size: int = Field(128, ge=32, le=1024, description="frame width and height in pixels")
    fps: int = Field(8, ge=1)
    scene_correlation: float = Field(0.9, ge=0.0, le=1.0, description="P(training clip shows its class's scene)")
    test_scene_correlation: float | None = Field(None, ge=0.0, le=1.0, description="None: same as training")
    seed: int = 0
    camera_pan: float = Field(
        0.0, ge=0.0, le=8.0, description="slow horizontal camera pan, px per frame (exercises motion compensation)"
    )
    audio: bool = Field(False, description="also a soundtrack per clip: class sound events + scene ambience")
    audio_correlation: float = Field(
        0.9, ge=0.0, le=1.0, description="P(training clip's sound events are its own class's; else another's)"
    )
    test_audio_correlation: float | None = Field(None, ge=0.0, le=1.0, description="None: same as training")
    audio_rate: int = Field(16000, ge=8000, le=48000, description="soundtrack sample rate, Hz")


class MaskNoiseConfig(StrictModel):
    """Controlled corruption of the person masks before stimuli are made (the seg-noise experiment, stimuli/noise.py)."""

    kind: Literal["erode", "dilate", "flip", "drop"] = "drop"
    level: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="erode/dilate: k as a share of the person's radius; "
        "flip: share of boundary-band pixels flipped; drop: share of frames with no mask",
    )
    band_px: int = Field(3, ge=1, le=50, description="flip: half-width of the band around the mask boundary")
    seed: int = 0
    splits: list[Literal["train", "val", "test"]] = Field(["train", "val", "test"], description="splits to corrupt")


class SwapConfig(StrictModel):
    """Action-swap stimuli (stimuli/swap.py): the body of one clip on the background-only frame of another class's."""

    pairing: Literal["random", "within-scene", "across-scene"] = Field(
        "random", description="where the background comes from: any other class, or one of the same / another scene"
    )
    seed: int = 0
    coverage: tuple[float, float] | None = Field(
        None, description="only persons covering this share of the frame, e.g. [0.05, 0.5] (HAT's rule)"
    )
    feather_px: int = Field(2, ge=0, le=50, description="alpha ramp inside the body's edge, px (0: hard paste)")
    splits: list[Literal["train", "val", "test"]] = Field(["test"], description="splits that get swap stimuli")


class MelConfig(StrictModel):
    """`prepare.audio`: the log-mel spectrogram of each clip's soundtrack (stimuli/sound.py)."""

    sample_rate: int = Field(16000, ge=4000, le=96000, description="every track is resampled to this rate, Hz")
    seconds: float = Field(1.0, gt=0.0, le=60.0, description="window centred on the clip's middle (pad/crop)")
    n_mels: int = Field(64, ge=8, le=256, description="mel bands")
    n_fft: int = Field(400, ge=32, le=8192, description="STFT window and FFT length, samples (400: 25 ms at 16 kHz)")
    hop: int = Field(160, ge=8, le=8192, description="STFT hop, samples (160: 10 ms at 16 kHz)")
    fmin: float = Field(0.0, ge=0.0, description="lowest mel band edge, Hz")
    fmax: float | None = Field(None, gt=0.0, description="highest mel band edge, Hz (None: sample_rate / 2)")
    silence_db: float = Field(
        -60.0, le=0.0, description="a track whose RMS is below this (dB re full scale) is recorded as silent"
    )


class PrepareConfig(StrictModel):
    # "auto": ground-truth when DATA/masks/ exists (the synthetic benchmark), else mediapipe (the offline default)
    segmenter: str = "auto"
    segmenter_options: dict[str, Any] = Field(default_factory=dict, description="e.g. {conf: 0.3, imgsz: 640}")
    weights: str | None = Field(None, description="local .pt for --segmenter yolo")
    layout: Literal["list", "haa500", "folders"] = "list"
    classes: list[str] | None = Field(None, description="a subset of class names (in this order)")
    split_file: str | None = Field(None, description="folders layout: CSV path,split (else a seeded split)")
    split_seed: int = 0
    every_k: int | None = Field(None, ge=1, description="sample every k-th frame instead of N evenly spaced")
    residual: bool = Field(True, description="re-segment each background-only frame (residual_person)")
    frames_per_clip: FramesPerClip = Field(
        1, description="frames sampled per training clip (the paper: 1); all: every frame (or every_k-th)"
    )
    eval_frames_per_clip: FramesPerClip = Field(1, description="frames sampled per val/test clip")
    max_persons: int | None = Field(None, ge=1, description="skip frames whose segmenter counts more persons")
    mask_scope: Literal["frame", "clip"] = Field(
        "frame",
        description="frame: each background-only frame hides its own mask; clip: one mask, the union over the clip",
    )
    clip_every: int = Field(1, ge=1, description="clip scope / temporal fill: read and segment every k-th frame")
    inflate: Literal["scale", "blur"] = Field(
        "scale", description="scale: the paper's 1.2x about each region's centroid; blur: the prototype's Gaussian"
    )
    dilation: float = Field(1.2, ge=1.0, le=3.0, description="body mask scale about its centroid (paper: 1.2)")
    blur_radius: float = Field(15.0, gt=0.0, le=100.0, description="inflate blur: Gaussian sigma, px (prototype: 15)")
    margin_px: int = Field(2, ge=0, le=50, description="extra pixels around the scaled mask (compression fringe)")
    inpaint: Literal["telea", "ns", "temporal", "none"] = Field(
        "telea", description="telea | ns (OpenCV) | temporal (stimuli/temporal.py) | none: hole left black (a control)"
    )
    inpaint_radius: int = Field(3, ge=1, le=50)
    min_mask_fraction: float = Field(0.0005, ge=0.0, le=1.0, description="below this a frame has no person")
    keep_empty: bool = Field(False, description="keep frames with no person (flagged in the manifest)")
    mask_noise: MaskNoiseConfig | None = Field(None, description="corrupt masks before making stimuli (seg-noise)")
    flow: bool = Field(False, description="also write optical-flow images per condition (stimuli/flow.py)")
    image_format: Literal["png", "jpg", "webp"] = Field(
        "png", description="stimulus images: png (lossless), jpg or webp at image_quality; masks are always PNG"
    )
    image_quality: int = Field(95, ge=1, le=100, description="jpg/webp quality (1..100); png ignores it")
    writer_threads: int = Field(3, ge=1, le=64, description="threads encoding and writing images per process")
    body_fill: Literal["black", "mean"] = Field(
        "black", description="body-only frames: non-body pixels black, or the ImageNet mean colour (HAT's)"
    )
    swap: SwapConfig | None = Field(None, description="also write action-swap stimuli (cue conflict, stimuli/swap.py)")
    audio: bool = Field(False, description="also a log-mel spectrogram per clip (`audio` column, stimuli/sound.py)")
    mel: MelConfig = Field(MelConfig(), description="the spectrogram's settings (with audio: true)")


class LossWeights(StrictModel):
    body: float = Field(1.0, ge=0.0)
    background: float = Field(1.0, ge=0.0)
    combined: float = Field(1.0, ge=0.0)
    flow: float = Field(1.0, ge=0.0, description="the flow stream's isolated loss (kind: domainnet-flow)")
    audio: float = Field(1.0, ge=0.0, description="the audio stream's isolated loss (kind: domainnet-audio)")


class MaskConfig(StrictModel):
    """`kind: domainnet-learned`: the mask network and its regularisers (models/learned.py)."""

    width: int = Field(16, ge=4, le=128, description="channels of the mask U-Net's first scale")
    area_target: float = Field(0.1, gt=0.0, lt=1.0, description="the area prior's target share of the frame")
    area_weight: float = Field(10.0, ge=0.0, description="weight of (mean mask - area_target)^2")
    smooth_weight: float = Field(0.1, ge=0.0, description="weight of the mask's total variation")
    crisp_weight: float = Field(0.1, ge=0.0, description="weight of mean m (1 - m)")
    motion_weight: float = Field(
        0.0, ge=0.0, description="weight of the motion ('Spelke') cue; reads the masks of a --segmenter motion set"
    )
    motion_mode: Literal["inside", "agree"] = Field(
        "inside", description="inside: what moved is body (-log m there); agree: cross-entropy with the motion mask"
    )


class ModelConfig(StrictModel):
    kind: Literal["baseline", "domainnet", "domainnet-flow", "domainnet-learned", "domainnet-audio"] = "domainnet"
    backbone: str = "resnet50"
    pretrained: Path | None = Field(None, description="local torchvision weights file; never downloaded")
    fusion: Literal["sum", "weighted", "concat"] = Field(
        "sum", description="DomainNet stream fusion: summed logits, learned per-stream weights, or concat + MLP"
    )
    loss_weights: LossWeights = LossWeights()
    condition: Condition = Field("original", description="the condition a baseline is trained on")
    mask: MaskConfig = MaskConfig()


class TrainRecipe(StrictModel):
    """What decides the trained weights. A resume must keep all of it (only `epochs` may grow, to train longer)."""

    epochs: int = Field(100, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(0.001, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    schedule: Literal["constant", "cosine"] = Field("constant", description="learning-rate schedule over epochs")
    balanced: bool = Field(True, description="class-balanced sampling")
    image_size: int = Field(224, ge=16, le=1024)
    resize: Literal["squash", "letterbox"] = Field(
        "squash", description="to image_size squared: stretch, or keep the aspect ratio and pad with black"
    )
    samples_per_epoch: int | None = Field(
        None, ge=1, description="training samples drawn per epoch (None: the training set's size)"
    )
    augment: bool = True
    augment_colour: bool = Field(False, description="also colour jitter + Gaussian blur (the prototype's)")
    stream_dropout: float = Field(
        0.0, ge=0.0, le=1.0, description="DomainNet: P(a training sample's body or background input is black)"
    )
    seed: int = 0
    # numerics, so part of the recipe: bf16 vs fp32, NHWC kernels and cuDNN's algorithm choice change the weights
    precision: Precision = Field("32-true", description="'auto': bf16-mixed where the GPU supports it")
    channels_last: bool = Field(True, description="NHWC memory format for model and inputs (faster convs with AMP)")
    deterministic: bool = False
    # shards: jpg changes the images the model sees, so the shard format is part of the recipe (png is lossless)
    shard_format: Literal["png", "jpg"] = Field("png", description="shards: png (lossless) or jpg at shard_quality")
    shard_quality: int = Field(95, ge=1, le=100, description="shards: JPEG quality")


class TrainRuntime(StrictModel):
    """Where and how fast training runs and what it logs on the side. A resume may change any of it."""

    num_workers: int = Field(0, ge=0, description="DataLoader worker processes (per GPU process)")
    cache_dir: Path | None = Field(None, description="decoded-frame cache and shards; None: STIM/cache")
    store: Literal["auto", "cache", "shards", "files"] = Field(
        "auto",
        description="training frames from: cache (uint8 .npy), shards (tar of encoded frames), files; "
        "auto: cache when it fits a quarter of memory, else shards (train/store.py)",
    )
    shard_mb: int = Field(1024, ge=1, description="shards: megabytes per tar shard")
    accelerator: str = "auto"
    devices: int | str = Field("auto", description="devices per node; under torchrun: LOCAL_WORLD_SIZE")
    num_nodes: int | Literal["auto"] = Field("auto", description="under torchrun: WORLD_SIZE / LOCAL_WORLD_SIZE")
    strategy: str = Field("auto", description="Lightning strategy; 'ddp' when torchrun starts several processes")
    log_draws: bool = Field(False, description="write RUN/<name>/draws/rank<r>.csv: the training items each rank drew")
    checkpoint_every: int = Field(
        1, ge=1, description="write last.ckpt (weights + optimizer, for --resume) every N epochs and at the last one"
    )
    loggers: list[Literal["csv", "tensorboard", "wandb"]] = Field(
        default_factory=lambda: ["csv"],
        description="where training metrics go: csv (RUN/<name>/metrics.csv, always kept), tensorboard, wandb",
    )
    threads: int | None = Field(
        None, ge=1, description="torch CPU threads (torch.set_num_threads); None: torch's default (one per core)"
    )


class TrainConfig(TrainRuntime, TrainRecipe):
    """The `train:` section: one flat mapping, as users write it (`--set train.num_workers=8`); which half a key
    belongs to is the class that declares it, so a resume compares `recipe()` and nothing else."""

    def recipe(self) -> TrainRecipe:
        return TrainRecipe.model_validate(self.model_dump(include=set(TrainRecipe.model_fields)))

    def runtime(self) -> TrainRuntime:
        return TrainRuntime.model_validate(self.model_dump(include=set(TrainRuntime.model_fields)))


class EvaluateConfig(StrictModel):
    bootstrap: int = Field(1000, ge=0, description="bootstrap resamples for the 95% CI")
    seed: int = 0
    checkpoint: Literal["best", "last"] = Field(
        "best",
        description="best: highest validation accuracy (lowest training loss without a val split); last: the final epoch's weights (the prototype's)",
    )
    batch_size: int = Field(64, ge=1)
    unit: Literal["frame", "clip"] = Field(
        "frame", description="frame: each test frame's argmax; clip: argmax of the mean logits over a clip's frames"
    )
    absent_stream: Literal["black", "drop"] = Field(
        "black",
        description="DomainNet on body-only/background-only stimuli: black: the absent stream sees a black frame "
        "and its logits are fused; drop: only the present stream's logits are fused",
    )
    store: Literal["auto", "cache", "files"] = Field(
        "auto",
        description="test frames from: cache (uint8 .npy, built once), files (decoded as read, nothing kept); "
        "auto: cache when the split's cache fits a quarter of memory, else files (train/store.py)",
    )
    sound: bool = Field(
        True, description="false: a model's audio stream hears silence (domainnet-audio scored without sound)"
    )


class CompareConfig(StrictModel):
    """`bodyscene compare`: which output answers, who counts, the intervals, and how an undefined kappa is counted
    (docs/humans.md)."""

    head: str = Field(
        "combined", description="the output that answers: combined (the model's answer), body or background stream"
    )
    bootstrap: int = Field(1000, ge=0, description="bootstrap resamples for the 95% CIs")
    seed: int = Field(0, description="bootstrap seed")

    min_attention: float = Field(
        1.0,
        ge=0,
        le=1,
        description="exclude participants who passed a smaller share of their attention checks "
        "(1.0: every check must be passed; 0: nobody is excluded; participants without checks are kept)",
    )
    undefined_kappa: Literal["drop", "one"] = Field(
        "drop",
        description="kappa with expected agreement 1 (both observers all right or all wrong in a cell): "
        "drop: left out of the means; one: counted as 1.0, as bethgelab/model-vs-human does",
    )


class StudyConfig(StrictModel):
    """`bodyscene human-study`: the jsPsych study's design (humans/study.py; docs/human-study.md)."""

    split: str = Field("test", description="manifest split the trials come from")
    design: Literal["latin", "full"] = Field("latin", description="latin: each clip once per participant")
    participants: int = Field(30, ge=1, le=100000, description="trial lists 1..N (the paper ran 28; 30 = 10 x 3)")
    choices: int | Literal["all"] | None = Field(
        None,
        description="options per trial: N (true action + N-1 seeded foils), 'all' classes, or None: 5 "
        "(the paper's design), every class when 5 or fewer are tested",
    )
    classes: list[str] | None = Field(None, description="class subset to test; None: all in classes.txt")
    time_limit_ms: int | None = Field(None, ge=1, description="hide the image after this long; None: no limit")
    practice: int = Field(3, ge=0, description="practice trials with feedback (original frames)")
    attention_checks: int = Field(2, ge=0, description="'please click X' trials spread among the trials")
    clips_per_class: int | None = Field(None, ge=1, description="clips per class to use; None: all")
    image_height: int = Field(320, ge=32, le=4000, description="displayed image (and clip) height in pixels")
    unit: Literal["clip", "frame"] = Field(
        "clip", description="clip: a trial plays a whole test clip (the paper's); frame: one still frame per trial"
    )
    clip_min_frames: int = Field(4, ge=2, description="clips with fewer sampled frames are refused (unit clip)")
    clip_fps: float = Field(8.0, gt=0, le=120, description="frames per second the clips are encoded and played at")
    clip_loop: bool = Field(False, description="loop the clip until the answer (False: play it once)")
    clip_max_ms: int | None = Field(None, ge=1, description="stop and hide the clip after this long; None: no limit")
    answer_ends_clip: bool = Field(
        True, description="True: an answer may come any time and ends the clip; False: the buttons wait for its end"
    )
    seed: int = 0
    consent_html: str | None = Field(None, description="consent page HTML; None: the template's generic text")
    swap_trials: bool = Field(
        False, description="also a swap trial per frame that has one (prepare.swap); its choices hold both actions"
    )


class ServeConfig(StrictModel):
    """`bodyscene serve-study`: where the study's server listens and what it sends participants to."""

    port: int = Field(8000, ge=1, le=65535, description="TCP port")
    host: str = Field("127.0.0.1", description="address to listen on (0.0.0.0: the whole network)")
    public_url: str | None = Field(None, description="the URL participants open (behind a proxy)")
    allowed_hosts: list[str] = Field(default_factory=list, description="extra Host names accepted")
    pid_param: str = Field("PROLIFIC_PID", description="URL parameter with the platform's participant id")
    completion_url: str | None = Field(None, description="where the page sends participants at the end")


class CollectConfig(StrictModel):
    """`bodyscene collect`: merging the study's responses/*.csv."""

    choices_from_design: bool = Field(
        False, description="CSVs without a choices column: take each trial's options from design.json"
    )


class SimulateConfig(StrictModel):
    """`bodyscene simulate-humans`: simulated participants (humans/simulate.py; for tests and power, never data)."""

    accuracy: dict[Condition, float] = Field(
        default_factory=lambda: {"original": 0.8, "body": 0.85, "background": 0.55},
        description="target accuracy per condition (all three)",
    )
    participants: int = Field(28, ge=1, description="simulated participants (sim01, sim02, ...)")
    agreement: float = Field(0.0, ge=0.0, le=1.0, description="P(a trial copies the model's correctness)")
    model: str = Field("domainnet", description="model whose errors simulated participants share (agreement > 0)")
    design: Literal["counterbalanced", "full"] = Field(
        "counterbalanced", description="counterbalanced: one condition per clip per participant; full: all three"
    )
    seed: int = 0
    choices: int | Literal["all"] | None = Field(
        None, description="options per trial: N (true action + N-1 seeded foils), 'all', or None: 5"
    )
    unit: Literal["frame", "clip"] = Field("frame", description="frame: a trial per test frame; clip: per test clip")

    @field_validator("accuracy")
    @classmethod
    def _every_condition(cls, value: dict[str, float]) -> dict[str, float]:
        missing = [c for c in CONDITIONS if c not in value]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}; give all three conditions")
        if not all(0.0 <= v <= 1.0 for v in value.values()):
            raise ValueError("each accuracy must be between 0 and 1")
        return {c: float(value[c]) for c in CONDITIONS}


class ExportConfig(StrictModel):
    """`bodyscene export`: the raw-data CSVs for another toolkit."""

    format: Literal["model-vs-human"] = Field("model-vs-human", description="bethgelab/model-vs-human raw-data CSVs")
    name: str = Field("bodyscene", description="experiment name in the file names (no '_')")
    head: str = Field("combined", description="the output that answers: combined, body or background")


# What `models:` holds when a config does not say: a baseline on original frames and the two-stream DomainNet.
# Raw dicts, so a legacy `model:` section and `--set models.<kind>.<key>=` fill in only what an entry leaves open.
DEFAULT_MODELS: tuple[dict[str, Any], ...] = ({"kind": "baseline"}, {"kind": "domainnet"})


class RunConfig(StrictModel):
    """One file holds every stage's settings (configs/demo.yaml, configs/paper.yaml)."""

    synth: SynthConfig = SynthConfig()
    prepare: PrepareConfig = PrepareConfig()
    models: list[ModelConfig] = Field(
        default_factory=lambda: [ModelConfig.model_validate(m) for m in DEFAULT_MODELS],
        description="the models of a run: `demo` and the experiments train each (RUN/<kind>/); `train --model "
        "KIND` trains the first of that kind (--set models.KIND.backbone=... changes it)",
    )
    train: TrainConfig = TrainConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    compare: CompareConfig = CompareConfig()
    study: StudyConfig = StudyConfig()
    serve: ServeConfig = ServeConfig()
    collect: CollectConfig = CollectConfig()
    simulate: SimulateConfig = SimulateConfig()
    export: ExportConfig = ExportConfig()
    parallel_models: int | Literal["auto"] = Field(
        "auto",
        description="demo: models trained at once, each in its own process with (cores / N) torch threads; "
        "auto: min(models, cores)",
    )

    @model_validator(mode="before")
    @classmethod
    def _legacy_model_section(cls, data: Any) -> Any:
        """Configs before 0.2 had `model:` (what `train` trained) beside `models:` (what `demo` trained). Its
        settings now fill in what each `models:` entry leaves open; its `kind` is dropped (`train --model` always
        chose the kind). Kept for one release, with a note."""
        if not isinstance(data, dict) or "model" not in data:
            return data
        data = dict(data)
        legacy = data.pop("model")
        if isinstance(legacy, BaseModel):
            legacy = legacy.model_dump(exclude_unset=True)
        if not isinstance(legacy, dict):
            raise ValueError("`model:` must be a mapping of model settings (it is read into every `models:` entry)")
        shared = {k: v for k, v in legacy.items() if k != "kind"}
        entries = data.get("models", [dict(m) for m in DEFAULT_MODELS])
        data["models"] = [
            {**shared, **(m.model_dump(exclude_unset=True) if isinstance(m, BaseModel) else m)} for m in entries
        ]
        warnings.warn(
            "config: the `model:` section is deprecated (one list of models since bodyscene 0.2): its settings "
            f"({', '.join(sorted(shared)) or 'none'}) now fill in every `models:` entry; move them there",
            FutureWarning,
            stacklevel=2,
        )
        return data

    def model_for(self, kind: str) -> ModelConfig:
        """The model `train --model KIND` trains: the first `models` entry of that kind; a kind not listed starts
        from the first entry's settings (backbone, pretrained weights, ...) with only the kind changed."""
        for m in self.models:
            if m.kind == kind:
                return m
        start = self.models[0].model_dump() if self.models else {}
        return validate(ModelConfig, {**start, "kind": kind}, f"--model {kind!r}")


def _describe(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key '{where}'; remove it or check the spelling (see configs/paper.yaml)"
    return f"{source}: '{where}': {first['msg']} (got {first.get('input')!r})"


def validate(model: type[StrictModel], data: dict[str, Any], source: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise BodySceneError(_describe(e, source)) from e


def resolve_config(path: str | Path) -> Path:
    """An existing file, else a packaged config by name (`paper` -> bodyscene/configs/paper.yaml)."""
    path = Path(path)
    if path.is_file():
        return path
    packaged = CONFIG_DIR / (path if path.suffix == ".yaml" else path.with_suffix(".yaml"))
    return packaged if not path.is_absolute() and packaged.is_file() else path


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = resolve_config(path)
    if not path.is_file():
        raise BodySceneError(f"{path}: config file not found; pass an existing YAML file to --config")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise BodySceneError(f"{path}: malformed YAML{line}; fix the syntax") from e
    if not isinstance(data, dict):
        raise BodySceneError(f"{path}: top level must be a mapping of sections (synth, prepare, model, train, ...)")
    return data


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """`--set train.epochs=3` pairs as a nested dict; values are parsed as YAML scalars."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BodySceneError(f"--set {pair!r}: expected KEY=VALUE, e.g. --set train.epochs=3")
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(value)
    return out


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """`update` over `base`, mapping by mapping; a mapping over a list changes entries of it (`_merge_entries`)."""
    out = dict(base)
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        elif isinstance(v, dict) and isinstance(out.get(k), list):
            out[k] = _merge_entries(out[k], v, k)
        else:
            out[k] = v
    return out


def _merge_entries(entries: list[Any], update: dict[str, Any], name: str) -> list[Any]:
    """`--set models.domainnet.backbone=x` or `--set models.1.backbone=x`: change one entry of a list of mappings,
    named by its index or its `kind` (the first of that kind). A kind not listed joins the list, starting from the
    first entry's settings, as `RunConfig.model_for` does."""
    out = [dict(e) if isinstance(e, dict) else e for e in entries]
    for key, change in update.items():
        if str(key).isdigit():
            i = int(key)
            if i >= len(out):
                raise BodySceneError(f"--set {name}.{key}: the list has {len(out)} entries; name one by its kind")
        else:
            i = next((j for j, e in enumerate(out) if isinstance(e, dict) and e.get("kind") == key), len(out))
            if i == len(out):
                out.append({**(out[0] if out and isinstance(out[0], dict) else {}), "kind": key})
        out[i] = merge(out[i], change) if isinstance(change, dict) and isinstance(out[i], dict) else change
    return out


def merge_config(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """merge() for a run config: a change to `models.<kind>` starts from the default models if `data` lists none."""
    if isinstance(overrides.get("models"), dict) and not isinstance(data.get("models"), list):
        data = {**data, "models": [dict(m) for m in DEFAULT_MODELS]}
    return merge(data, overrides)


def _has_path(data: Any, loc: tuple) -> bool:
    """Whether the nested dict/list `data` has the key path `loc` (a pydantic error location)."""
    for key in loc:
        if isinstance(data, dict):
            found = key in data
        else:
            found = isinstance(data, list) and isinstance(key, int) and key < len(data)
        if not found:
            return False
        data = data[key]
    return True


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Defaults < YAML file < overrides (from the command line). An error names where the bad value came from."""
    data = load_yaml(path) if path is not None else {}
    merged = merge_config(data, overrides) if overrides else data
    try:
        return RunConfig.model_validate(merged)
    except ValidationError as e:
        from_command_line = path is None or _has_path(overrides or {}, tuple(e.errors()[0]["loc"]))
        raise BodySceneError(_describe(e, "command line" if from_command_line else str(resolve_config(path)))) from e


def with_new_defaults(model: type[StrictModel], data: Any) -> Any:
    """`data`, a dump of `model` written by an older version, with the fields added since at their defaults (e.g.
    `prepare.audio`), so that a folder made before a new option existed still resumes; as is if it does not validate."""
    try:
        return model.model_validate(data).model_dump(mode="json")
    except ValidationError:
        return data


def dump_config(cfg: StrictModel) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)


def json_schema() -> dict[str, Any]:
    """The JSON schema of a run config file, for editors (`bodyscene config schema --out F`)."""
    schema = RunConfig.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": "bodyscene run config"}
