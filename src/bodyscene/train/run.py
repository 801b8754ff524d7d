"""The `train` stage: one model on one stimulus set into RUN/<name>/, with checkpoints every epoch and resume."""

from __future__ import annotations

import logging
import platform
import warnings
from pathlib import Path

import lightning as L
import torch
import yaml
from lightning.fabric.utilities.rank_zero import rank_zero_only
from lightning.pytorch.callbacks import RichProgressBar

from bodyscene import __version__
from bodyscene.config import ModelConfig, StrictModel, TrainConfig, TrainRecipe, dump_config, with_new_defaults
from bodyscene.errors import BodySceneError, require_extra
from bodyscene.files import atomic_write_text, read_json, remove_stale_temps, write_json
from bodyscene.progress import plain_wanted
from bodyscene.train.checkpoint import AtomicCheckpointIO, EpochCheckpoint, load_checkpoint_file
from bodyscene.train.datamodule import StimulusDataModule
from bodyscene.train.distributed import DrawLog, RankDigests, trainer_settings
from bodyscene.train.mask_snapshots import MaskSnapshots
from bodyscene.train.metrics_log import ResumableCSVLogger
from bodyscene.train.module import ActionModule
from bodyscene.train.progress import PlainTrainingProgress


def quiet_lightning() -> None:
    """Keep Lightning's start-up chatter (accelerator lines, tips, known-harmless warnings) off the console."""
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    logging.getLogger("lightning.fabric").setLevel(logging.WARNING)
    for message in (
        ".*overridden `on_after_batch_transfer`.*",
        ".*Experiment logs directory.*",
        ".*isinstance\\(treespec, LeafSpec\\).*",
        ".*does not have many workers.*",
        ".*The number of training batches.*",
        ".*sync_dist=True.*",
        ".*all_gather is deprecated.*",  # inside Lightning's all_gather (torch 2.14)
    ):
        warnings.filterwarnings("ignore", message=message)


def checkpoint_dir(run: Path, name: str) -> Path:
    return Path(run) / name / "checkpoints"


def resolve_precision(precision: str, accelerator: str = "auto") -> str:
    """'auto': bf16 mixed precision on GPUs that support it (Ampere+), fp16 mixed on older ones, fp32 on CPU."""
    if precision != "auto":
        return precision
    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "32-true"


def train_model(
    stimuli: str | Path,
    run: str | Path,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    name: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Train one model into RUN/<name>/: check resume -> build data -> build model -> fit -> record."""
    run, stimuli = Path(run), Path(stimuli)
    name = name or model_cfg.kind
    _check_loggers(train_cfg.loggers)  # before anything is written
    out = run / name
    resumed_epoch = check_resume(out, model_cfg, train_cfg, resume=resume, overwrite=overwrite)

    quiet_lightning()
    if train_cfg.threads is not None:
        torch.set_num_threads(train_cfg.threads)
    L.seed_everything(train_cfg.seed, workers=True, verbose=False)
    data = build_data(stimuli, model_cfg, train_cfg)
    module = ActionModule(model_cfg.model_dump(mode="json"), train_cfg.model_dump(mode="json"), data.classes)
    info = model_info(name, model_cfg, train_cfg, data.classes, stimuli)
    before = read_json(out / "model.json").get("training") if resume and (out / "model.json").is_file() else None
    if rank_zero_only.rank == 0:
        atomic_write_text(out / "config.yaml", dump_config(_Saved(model=model_cfg, train=train_cfg)))
        write_json(out / "model.json", info)

    digests = RankDigests()
    has_val = len(data.stimuli.split("val")) > 0
    trainer = build_trainer(
        run, name, train_cfg, has_val, digests, resumed_epoch, progress, hasattr(module.net, "last_mask")
    )
    last = checkpoint_dir(run, name) / "last.ckpt"
    trainer.fit(module, datamodule=data, ckpt_path=str(last) if resume else None)
    if trainer.is_global_zero:
        record_training(out, info, trainer, digests, train_cfg.batch_size, before)
    return out


def check_resume(
    out: Path, model_cfg: ModelConfig, train_cfg: TrainConfig, resume: bool, overwrite: bool
) -> int | None:
    """The epoch a resume continues from (None for a fresh start), after refusing what would mix two runs: resuming
    nothing, restarting over checkpoints without --overwrite, or resuming with another recipe."""
    ckpt_dir = out / "checkpoints"
    last = ckpt_dir / "last.ckpt"
    if resume and not last.is_file():
        raise BodySceneError(f"{last}: nothing to resume; train without --resume first")
    if ckpt_dir.is_dir():
        remove_stale_temps(ckpt_dir)  # a checkpoint write cut short by a kill
    if resume:
        saved = out / "config.yaml"
        if saved.is_file() and not same_recipe(saved, model_cfg, train_cfg):
            raise BodySceneError(f"{saved}: the run was started with other settings; resume with the same ones")
        return load_checkpoint_file(last)["epoch"]  # weights_only=True: no code runs
    if ckpt_dir.is_dir() and any(ckpt_dir.iterdir()):
        if not overwrite:
            raise BodySceneError(f"{out}: already has checkpoints; pass --resume to continue or --overwrite to restart")
        if rank_zero_only.rank == 0:  # under torchrun every rank runs this; one deletes
            for f in ckpt_dir.iterdir():
                f.unlink(missing_ok=True)
            (out / "metrics.csv").unlink(missing_ok=True)
    return None


def same_recipe(saved_file: Path, model_cfg: ModelConfig, train_cfg: TrainConfig) -> bool:
    """Whether RUN/<name>/config.yaml holds this model and training recipe. `epochs` may grow (to train longer) and
    every `TrainRuntime` key (devices, workers, cache, logging) may change; anything else would mix two runs."""
    before = yaml.safe_load(saved_file.read_text()) or {}
    recipe_keys = set(TrainRecipe.model_fields) - {"epochs"}
    now = train_cfg.recipe().model_dump(mode="json", include=recipe_keys)
    was = {k: v for k, v in (before.get("train") or {}).items() if k in recipe_keys}
    model = with_new_defaults(ModelConfig, before.get("model"))  # (e.g. loss_weights.audio, added later)
    return model == model_cfg.model_dump(mode="json") and was == now


def training_cues(stimuli: Path, model_cfg: ModelConfig) -> dict[str, str]:
    """Training targets that are not model inputs (batch name -> manifest column): the motion cue's masks for a
    `domainnet-learned` with `mask.motion_weight > 0`, read only from a set prepared with `--segmenter motion` (the
    masks of any other set are a trained segmenter's answer or the truth, which this kind must never see)."""
    if model_cfg.kind != "domainnet-learned" or model_cfg.mask.motion_weight == 0:
        return {}
    meta = stimuli / "stimuli.json"
    settings = (read_json(meta).get("settings") or {}) if meta.is_file() else {}
    segmenter = (settings.get("prepare") or {}).get("segmenter")
    if segmenter != "motion":
        raise BodySceneError(
            f"{stimuli}: mask.motion_weight reads the motion segmenter's masks, but this set was made with segmenter "
            f"{segmenter!r}; prepare one with `bodyscene prepare --segmenter motion`, or set mask.motion_weight=0"
        )
    return {"motion": "mask"}


def build_data(stimuli: Path, model_cfg: ModelConfig, train_cfg: TrainConfig) -> StimulusDataModule:
    return StimulusDataModule(
        stimuli,
        kind=model_cfg.kind,
        condition=model_cfg.condition,
        image_size=train_cfg.image_size,
        batch_size=train_cfg.batch_size,
        balanced=train_cfg.balanced,
        num_workers=train_cfg.num_workers,
        seed=train_cfg.seed,
        cache_dir=train_cfg.cache_dir,
        resize=train_cfg.resize,
        samples_per_epoch=train_cfg.samples_per_epoch,
        store=train_cfg.store,
        shard_format=train_cfg.shard_format,
        shard_quality=train_cfg.shard_quality,
        shard_mb=train_cfg.shard_mb,
        cues=training_cues(stimuli, model_cfg),
    )


def model_info(name: str, model_cfg: ModelConfig, train_cfg: TrainConfig, classes: list[str], stimuli: Path) -> dict:
    """RUN/<name>/model.json before training: what evaluate needs to rebuild and feed the model."""
    return {
        "name": name,
        "kind": model_cfg.kind,
        "backbone": model_cfg.backbone,
        "condition": model_cfg.condition,
        "classes": classes,
        "stimuli": str(stimuli.resolve()),
        "image_size": train_cfg.image_size,
        "resize": train_cfg.resize,  # evaluation must fit frames to the square the same way
        "bodyscene": __version__,
        "python": platform.python_version(),
    }


def build_trainer(
    run: Path,
    name: str,
    train_cfg: TrainConfig,
    has_val: bool,
    digests: RankDigests,
    resumed_epoch: int | None,
    progress: bool,
    learned_mask: bool = False,
) -> L.Trainer:
    callbacks = [
        EpochCheckpoint(
            dirpath=checkpoint_dir(run, name),
            filename="best",
            monitor="val/acc" if has_val else "train/loss",
            mode="max" if has_val else "min",
            save_last=True,
            save_top_k=1,
            enable_version_counter=False,
            every=train_cfg.checkpoint_every,
        ),
        digests,
    ]
    if train_cfg.log_draws:
        callbacks.append(DrawLog(run / name / "draws"))
    if learned_mask:  # domainnet-learned: snapshots of its mask for the IoU over epochs (never read in training)
        callbacks.append(MaskSnapshots(run / name / "masks"))
    if progress:  # rich bars on a terminal, plain lines (n/N, rate, ETA) in a log file
        callbacks.append(PlainTrainingProgress(f"train {name}") if plain_wanted() else RichProgressBar(leave=False))
    return L.Trainer(
        max_epochs=train_cfg.epochs,
        accelerator=train_cfg.accelerator,
        **trainer_settings(train_cfg),
        precision=resolve_precision(train_cfg.precision, train_cfg.accelerator),
        deterministic=train_cfg.deterministic,
        callbacks=callbacks,
        logger=make_loggers(train_cfg.loggers, run, name, resumed_epoch),
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=1,
        num_sanity_val_steps=0,
        plugins=[AtomicCheckpointIO()],  # atomic fsynced saves; resume reads with weights_only=True
    )


def _check_loggers(kinds: list[str]) -> None:
    if "csv" not in kinds:
        raise BodySceneError(
            f"train.loggers={kinds}: keep csv in the list (metrics.csv is what resume and report read)"
        )
    if "tensorboard" in kinds:
        require_extra("tensorboard", "tensorboard", "train.loggers: tensorboard")
    if "wandb" in kinds:
        require_extra("wandb", "wandb", "train.loggers: wandb")


def make_loggers(kinds: list[str], run: Path, name: str, resumed_epoch: int | None) -> list:
    """`train.loggers` (checked by _check_loggers): the resumable CSV logger (RUN/<name>/metrics.csv) first, then
    Lightning's own loggers."""
    loggers: list = [ResumableCSVLogger(run, name, keep_through_epoch=resumed_epoch)]
    if "tensorboard" in kinds:
        from lightning.pytorch.loggers import TensorBoardLogger

        # RUN/<name>/tensorboard/: `tensorboard --logdir RUN` shows every model of the run
        loggers.append(TensorBoardLogger(save_dir=str(run), name=name, version="tensorboard", default_hp_metric=False))
    if "wandb" in kinds:
        import os

        from lightning.pytorch.loggers import WandbLogger

        offline = os.environ.get("WANDB_MODE", "offline") == "offline"  # no network unless the user asks for it
        loggers.append(WandbLogger(name=name, save_dir=str(run / name), offline=offline))
    return loggers


def record_training(
    out: Path, info: dict, trainer: L.Trainer, digests: RankDigests, batch_size: int, before: dict | None = None
) -> None:
    """model.json after training: how it ran, and whether every DDP rank ended with the same weights. A resume of a
    finished run trains nothing (Lightning skips the loop and on_train_end): the record of the run (`before`) stays."""
    if not digests.digests:
        if before is not None:
            info["training"] = before
        write_json(out / "model.json", info)
        return
    agree = len(set(digests.digests)) == 1
    info["training"] = {
        "world_size": trainer.world_size,
        "num_nodes": trainer.num_nodes,
        "strategy": type(trainer.strategy).__name__,
        "precision": trainer.precision,
        "batch_size_per_process": batch_size,
        "parameter_digests": digests.digests,  # SHA-256 of each rank's final parameters, rank order
        "ranks_agree": agree,
    }
    write_json(out / "model.json", info)
    if not agree:
        warnings.warn(f"{out}: DDP ranks ended with different weights; the checkpoint holds rank 0's", stacklevel=2)


class _Saved(StrictModel):
    """The two config sections that define a trained model (RUN/<name>/config.yaml)."""

    model: ModelConfig
    train: TrainConfig
