"""The `train` stage: one model on one stimulus set into RUN/<name>/, with checkpoints every epoch and resume."""

from __future__ import annotations

import logging
import platform
import warnings
from pathlib import Path

import lightning as L
import torch
from lightning.fabric.utilities.rank_zero import rank_zero_only
from lightning.pytorch.callbacks import RichProgressBar

from bodyscene import __version__
from bodyscene.config import ModelConfig, StrictModel, TrainConfig, dump_config
from bodyscene.errors import BodySceneError
from bodyscene.files import atomic_write_text, remove_stale_temps, write_json
from bodyscene.train.checkpoint import AtomicCheckpointIO, EpochCheckpoint, load_checkpoint_file
from bodyscene.train.datamodule import StimulusDataModule
from bodyscene.train.distributed import DrawLog, RankDigests, trainer_settings
from bodyscene.train.metrics_log import ResumableCSVLogger
from bodyscene.train.module import ActionModule


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
    run, stimuli = Path(run), Path(stimuli)
    name = name or model_cfg.kind
    out = run / name
    ckpt_dir = checkpoint_dir(run, name)
    last = ckpt_dir / "last.ckpt"
    if resume and not last.is_file():
        raise BodySceneError(f"{last}: nothing to resume; train without --resume first")
    resumed_epoch = load_checkpoint_file(last)["epoch"] if resume else None  # weights_only=True: no code runs
    if ckpt_dir.is_dir():
        remove_stale_temps(ckpt_dir)  # a checkpoint write cut short by a kill
    if not resume and ckpt_dir.is_dir() and any(ckpt_dir.iterdir()):
        if not overwrite:
            raise BodySceneError(f"{out}: already has checkpoints; pass --resume to continue or --overwrite to restart")
        if rank_zero_only.rank == 0:  # under torchrun every rank runs this; one deletes
            for f in ckpt_dir.iterdir():
                f.unlink(missing_ok=True)
            (out / "metrics.csv").unlink(missing_ok=True)

    saved = dump_config(_Saved(model=model_cfg, train=train_cfg))
    if resume and (out / "config.yaml").is_file() and not _same_settings(out / "config.yaml", saved):
        raise BodySceneError(
            f"{out / 'config.yaml'}: the run was started with other settings; resume with the same ones"
        )

    quiet_lightning()
    L.seed_everything(train_cfg.seed, workers=True, verbose=False)
    data = StimulusDataModule(
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
    )
    module = ActionModule(model_cfg.model_dump(mode="json"), train_cfg.model_dump(mode="json"), data.classes)
    has_val = len(data.stimuli.split("val")) > 0

    info = {
        "name": name,
        "kind": model_cfg.kind,
        "backbone": model_cfg.backbone,
        "condition": model_cfg.condition,
        "classes": data.classes,
        "stimuli": str(stimuli.resolve()),
        "image_size": train_cfg.image_size,
        "resize": train_cfg.resize,  # evaluation must fit frames to the square the same way
        "bodyscene": __version__,
        "python": platform.python_version(),
    }
    if rank_zero_only.rank == 0:
        atomic_write_text(out / "config.yaml", saved)
        write_json(out / "model.json", info)
    digests = RankDigests()
    callbacks = [
        EpochCheckpoint(
            dirpath=ckpt_dir,
            filename="best",
            monitor="val/acc" if has_val else "train/loss",
            mode="max" if has_val else "min",
            save_last=True,
            save_top_k=1,
            enable_version_counter=False,
        )
    ]
    callbacks.append(digests)
    if train_cfg.log_draws:
        callbacks.append(DrawLog(out / "draws"))
    if progress:
        callbacks.append(RichProgressBar(leave=False))
    placement = trainer_settings(train_cfg)
    precision = resolve_precision(train_cfg.precision, train_cfg.accelerator)
    trainer = L.Trainer(
        max_epochs=train_cfg.epochs,
        accelerator=train_cfg.accelerator,
        **placement,
        precision=precision,
        deterministic=train_cfg.deterministic,
        callbacks=callbacks,
        logger=ResumableCSVLogger(run, name, keep_through_epoch=resumed_epoch),
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=1,
        num_sanity_val_steps=0,
        plugins=[AtomicCheckpointIO()],  # atomic fsynced saves; resume reads with weights_only=True
    )
    trainer.fit(module, datamodule=data, ckpt_path=str(last) if resume else None)
    if trainer.is_global_zero:
        agree = len(set(digests.digests)) == 1
        info["training"] = {
            "world_size": trainer.world_size,
            "num_nodes": trainer.num_nodes,
            "strategy": type(trainer.strategy).__name__,
            "precision": precision,
            "batch_size_per_process": train_cfg.batch_size,
            "parameter_digests": digests.digests,  # SHA-256 of each rank's final parameters, rank order
            "ranks_agree": agree,
        }
        write_json(out / "model.json", info)
        if not agree:
            warnings.warn(f"{out}: DDP ranks ended with different weights; the checkpoint holds rank 0's", stacklevel=2)
    return out


# settings that change where and how fast training runs, not what it computes: a resume may change them
# (store: cache, png shards and files give the same images; shard_format jpg does not, so it is not listed)
EXECUTION_ONLY = (
    "num_workers", "accelerator", "devices", "num_nodes", "strategy", "cache_dir", "log_draws", "store", "shard_mb",
)  # fmt: skip


def _same_settings(saved_file: Path, saved: str) -> bool:
    """Resuming may change the number of epochs (to train longer) and where it runs; anything else would mix two
    runs."""
    import yaml

    before, now = yaml.safe_load(saved_file.read_text()), yaml.safe_load(saved)
    for key in ("epochs", *EXECUTION_ONLY):
        before["train"].pop(key, None)
        now["train"].pop(key, None)
    return before == now


class _Saved(StrictModel):
    """The two config sections that define a trained model (RUN/<name>/config.yaml)."""

    model: ModelConfig
    train: TrainConfig
