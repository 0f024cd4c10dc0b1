"""The one shared training loop (every phase uses it): explicit, on Accelerate.

In the spirit of transformers' ``run_glue_no_trainer.py``: AdamW (no decay on biases and LayerNorm weights),
a linear warm-up/decay schedule counted in *optimizer* steps, gradient accumulation, gradient clipping,
bf16 autocast on CUDA (``Accelerator(mixed_precision=...)``), a tqdm bar, periodic logs, and resumable state.

Read top to bottom: ``TrainState`` (where a run stands), ``StepPlan`` (the optimizer steps planned and the
schedule that follows them), ``StateSaver`` (atomic save and resume), then ``train``: data, optimizer and schedule,
resume, the loop over epochs and batches, and the end of each epoch (its row, evaluation, a save).

Resume: ``output_dir/state`` holds ``accelerator.save_state`` (model as safetensors, optimizer, scheduler, RNG
states) plus ``progress.json`` (step, epoch, batches done, history). Calling ``train`` again with the same
``output_dir`` continues where the last run stopped (mid-epoch batches already seen are skipped with
``accelerator.skip_first_batches``; the shuffle order of an epoch depends only on ``seed`` and the epoch, so the
skipped batches are exactly the ones already trained on). A finished run resumes to "done" and returns its
history, so re-running a cut-off GPU job with the same command is always safe. Use one ``output_dir`` per phase.

``accelerate launch`` with several GPUs works: each process sees a shard of every batch, logs are averaged
over processes, and only the main process writes files.
"""
from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils.data import DataLoader, Sampler

logger = logging.getLogger(__name__)

STATE_DIR = "state"
PROGRESS_FILE = "progress.json"


@dataclass
class LoopConfig:
    output_dir: str                 # resume state saved under output_dir/state
    epochs: int = 1
    max_steps: int | None = None    # overrides epochs when set
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_steps: int = 0           # counted in optimizer steps
    batch_size: int = 32
    gradient_accumulation_steps: int = 1
    max_grad_norm: float = 1.0
    mixed_precision: str = "auto"   # "auto" -> bf16 on CUDA, "no" on CPU
    seed: int = 42
    log_every: int = 50
    save_every: int = 500           # steps between resumable checkpoints
    progress: bool = True           # tqdm bar
    resume: bool = True             # False: ignore (and overwrite) an existing output_dir/state
    num_workers: int = 0            # DataLoader workers
    time_budget_s: float | None = None  # plan no more optimizer steps than fit in this many seconds of training
    calibration_steps: int = 50     # steps timed (after 10 untimed) to size the plan to time_budget_s
    # Batches of similar length (transformers' length-grouped order: shuffle, sort within mega-batches of 50):
    # on cafe comments a random batch is 1/3 real tokens, so this makes a CPU epoch about twice as fast.
    # Needs ``train(..., lengths=...)``.
    group_by_length: bool = False


def resolve_mixed_precision(value: str) -> str:
    """'auto' -> 'bf16' where CUDA supports it, else 'no' (CPU autocast is slower than fp32 for small models)."""
    from mbti_core.config_args import MIXED_PRECISION_CHOICES

    if value != "auto":
        if value not in MIXED_PRECISION_CHOICES:
            raise ValueError(f"mixed_precision must be auto, no, bf16 or fp16, not {value!r}")
        return value
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16"
    return "no"


def process_state():
    """Accelerate's view of this process (index, count, main or not), set up as ``make_accelerator`` does."""
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def make_accelerator(config: LoopConfig):
    """The Accelerator a phase should share with its eval code (creating it also sets the seed).

    Without CUDA it is created with ``cpu=True``: only then does Accelerate turn the processes of ``accelerate
    launch --multi_gpu --num_processes N`` (or ``torchrun``) into one gloo group on a CPU machine; otherwise each
    process would train alone on all the data. (``accelerate launch --cpu --num_processes N`` starts one process.)
    DDP is told to expect unused parameters: each phase trains one of the model's two heads (as Trainer does)."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, set_seed

    accelerator = Accelerator(
        mixed_precision=resolve_mixed_precision(config.mixed_precision),
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        cpu=not torch.cuda.is_available(),
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    set_seed(config.seed)
    return accelerator


class EpochShuffleSampler(Sampler[int]):
    """A random permutation that depends only on (seed, epoch): identical on every process and after a resume.
    With ``lengths`` (and ``batch_size``), the permutation is length-grouped as transformers' Trainer does it."""

    def __init__(self, length: int, seed: int, lengths: list[int] | None = None, batch_size: int = 1):
        if lengths is not None and len(lengths) != length:
            raise ValueError(f"lengths has {len(lengths)} entries for a dataset of {length}")
        self.length = length
        self.seed = seed
        self.lengths = None if lengths is None else [int(n) for n in lengths]
        self.batch_size = batch_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator()
        generator.manual_seed(self.seed * 1_000_003 + self.epoch)
        if self.lengths is not None:
            from transformers.trainer_pt_utils import get_length_grouped_indices

            return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))
        return iter(torch.randperm(self.length, generator=generator).tolist())

    def __len__(self) -> int:
        return self.length


def optimizer_param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """No weight decay on biases and normalisation weights (as in run_glue_no_trainer.py)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        lowered = name.lower()
        if param.ndim < 2 or "layernorm" in lowered or "layer_norm" in lowered or name.endswith(".bias"):
            no_decay.append(param)
        else:
            decay.append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def _output_value(outputs: Any, key: str):
    if isinstance(outputs, dict):
        return outputs.get(key)
    return getattr(outputs, key, None)


def _detached(value):
    """A logged value kept on its device: no host sync per step (only when a log line is written)."""
    if isinstance(value, torch.Tensor):
        return value.detach().float().mean()
    return float(value)


def _window_means(window: dict[str, list], device) -> torch.Tensor:
    return torch.stack([
        torch.stack([torch.as_tensor(v, dtype=torch.float32, device=device) for v in values]).mean()
        for values in window.values()
    ])


def _write_json_atomic(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    os.replace(tmp, path)


@dataclass
class TrainState:
    """Where a run stands: saved as ``progress.json`` beside Accelerate's state, so a run resumes exactly."""

    global_step: int = 0
    epoch: int = 0                  # epochs finished
    batches_done: int = 0           # batches of the current epoch already trained on
    epoch_loss_sum: float = 0.0
    epoch_loss_count: int = 0
    history: list = field(default_factory=list)      # one row per finished epoch
    epoch_steps: list = field(default_factory=list)  # the current epoch's step logs
    config: dict = field(default_factory=dict)
    total_steps: int = 0
    finished: bool = False
    train_seconds: float = 0.0
    budget_total_steps: int | None = None  # the plan a time budget fixed (kept on resume)


class StepPlan:
    """The optimizer steps planned and the schedule that follows them: linear warm-up, then linear decay to zero
    at ``total``. A time budget may shorten ``total`` once the step time is known, so the schedule reads it on
    every step rather than fixing it when built."""

    def __init__(self, total: int, warmup: int):
        self.total, self.warmup = total, min(warmup, total)

    def lr_factor(self, step: int) -> float:
        if step < self.warmup:
            return step / max(1, self.warmup)
        return max(0.0, (self.total - step) / max(1, self.total - self.warmup))

    def shorten_to(self, total: int) -> None:
        self.total, self.warmup = total, min(self.warmup, total)


def _find_state(output_dir: Path) -> Path | None:
    """The last complete state folder (a save interrupted half-way leaves the previous one as state.old)."""
    for name in (STATE_DIR, STATE_DIR + ".old"):
        candidate = output_dir / name
        if (candidate / PROGRESS_FILE).is_file():
            return candidate
    return None


class StateSaver:
    """Accelerate's state (model as safetensors, optimizer, scheduler, RNG states) plus ``progress.json`` under
    ``output_dir/state``: saved to ``state.tmp`` and then swapped in, so a kill during a save keeps the previous
    state. Every process takes part in a save; only the main one writes files."""

    def __init__(self, accelerator, output_dir: Path):
        self.accelerator, self.output_dir = accelerator, output_dir
        self.saved_at_step = 0

    def latest(self) -> Path | None:
        return _find_state(self.output_dir)

    def load(self, path: Path) -> dict:
        self.accelerator.load_state(str(path))
        return json.loads((path / PROGRESS_FILE).read_text())

    def save(self, state: TrainState) -> None:
        self.saved_at_step = state.global_step
        accelerator, root = self.accelerator, self.output_dir
        tmp, final, old = root / (STATE_DIR + ".tmp"), root / STATE_DIR, root / (STATE_DIR + ".old")
        if accelerator.is_main_process and tmp.exists():
            shutil.rmtree(tmp)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp), safe_serialization=True)
        if accelerator.is_main_process:
            _write_json_atomic(tmp / PROGRESS_FILE, asdict(state))
            if old.exists():
                shutil.rmtree(old)
            if final.exists():
                os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        accelerator.wait_for_everyone()


def _resume(state: TrainState, saver: StateSaver, plan: StepPlan, config: LoopConfig, num_epochs: int) -> None:
    """Continue from the last saved state, if any: the state, the plan a time budget fixed, and whether the run
    is already finished under this config (a longer plan continues a finished run; a shorter one stops at once)."""
    path = saver.latest() if config.resume else None
    if path is None:
        return
    saved = saver.load(path)
    if config.time_budget_s and saved.get("budget_total_steps"):
        plan.shorten_to(min(plan.total, saved["budget_total_steps"]))  # the schedule's decay depends on it
    if saved.get("total_steps") != plan.total:
        logger.warning("resuming %s planned for %s steps with a config planning %s steps; the schedule follows the "
                       "new plan", path, saved.get("total_steps"), plan.total)
    known = {f for f in TrainState.__dataclass_fields__} - {"config", "total_steps", "budget_total_steps"}
    for key in known & set(saved):
        setattr(state, key, saved[key])
    state.total_steps, state.budget_total_steps = plan.total, saved.get("budget_total_steps")
    state.finished = state.global_step >= plan.total or state.epoch >= num_epochs
    saver.saved_at_step = state.global_step
    saver.accelerator.print(f"resumed from {path}: step {state.global_step}/{plan.total}, epoch {state.epoch + 1}, "
                            f"{state.batches_done} batches of it done")


def _fit_plan_to_budget(plan: StepPlan, state: TrainState, config: LoopConfig, accelerator, seconds_per_step: float,
                        seconds_spent: float) -> int:
    """Shorten the plan (and so the decay) to the steps that fit the time budget at the measured pace; every
    process follows one plan."""
    left = config.time_budget_s - seconds_spent
    fit = torch.tensor([state.global_step + max(left / seconds_per_step, 1.0)], device=accelerator.device)
    fit = int(accelerator.reduce(fit, reduction="mean").item())
    new_total = min(plan.total, fit)
    if new_total < plan.total:
        accelerator.print(f"time budget {config.time_budget_s:.0f} s at {seconds_per_step * 1000:.1f} ms/step: "
                          f"plan shortened from {plan.total} to {new_total} steps")
    plan.shorten_to(new_total)
    state.total_steps = state.budget_total_steps = new_total
    return new_total


def train(
    model,
    train_dataset,
    config: LoopConfig,
    *,
    collate_fn: Callable | None = None,
    eval_fn: Callable | None = None,
    accelerator=None,
    batch_metrics: Callable | None = None,
    lengths: list[int] | None = None,
) -> list[dict]:
    """Explicit loop on Accelerate: model(**batch) must return an object with .loss (HF convention).
    eval_fn(model, accelerator, epoch) -> dict is called after each epoch; its dict is merged into that epoch's
    history row together with the mean training loss. Resumes from output_dir/state if present.
    Returns the history rows (one per epoch, plus step logs under key "steps").

    Details:
    - ``epoch`` counts from 1 (in rows and in the eval_fn call). When ``max_steps`` ends training mid-epoch, that
      partial epoch still gets its row and its eval_fn call.
    - Each row: {"epoch", "global_step", "train_loss", "steps": [{"step", "epoch", "loss", "lr", ...}], **eval}.
    - Step logs carry the window mean of ``loss``, of ``accuracy`` when the model output has an ``accuracy``
      field, and of whatever ``batch_metrics(outputs, batch) -> dict[str, float]`` returns.
    - ``lengths`` (one per example, e.g. token counts) is used when ``config.group_by_length`` is set.
    - The caller's ``model`` object is trained in place (and left unwrapped, without autocast hooks).
    """
    from accelerate.utils import set_seed

    if len(train_dataset) == 0:
        raise ValueError("train_dataset is empty: nothing to train on")
    if config.gradient_accumulation_steps < 1:
        raise ValueError("gradient_accumulation_steps must be >= 1")
    if config.max_steps is not None and config.max_steps < 1:
        raise ValueError("max_steps must be >= 1 when given")
    if config.group_by_length and lengths is None:
        raise ValueError("group_by_length needs the examples' lengths")

    if accelerator is None:
        accelerator = make_accelerator(config)
    else:
        set_seed(config.seed)
        # accelerator.backward divides the loss by this number; keep it in step with our accumulation.
        accelerator.gradient_accumulation_steps = config.gradient_accumulation_steps

    # The accelerator registers what it prepares and save_state/load_state cover everything registered. A phase
    # run after another on the same accelerator must checkpoint only its own model, optimizer and scheduler.
    registries = ("_models", "_optimizers", "_schedulers", "_dataloaders", "_custom_objects")
    outer = {name: list(getattr(accelerator, name)) for name in registries}
    for name in registries:
        getattr(accelerator, name).clear()
    try:
        return _train(model, train_dataset, config, accelerator, collate_fn, eval_fn, batch_metrics,
                      lengths if config.group_by_length else None)
    finally:
        for name in registries:
            setattr(accelerator, name, outer[name])


def _train(model, train_dataset, config, accelerator, collate_fn, eval_fn, batch_metrics, lengths) -> list[dict]:
    from tqdm.auto import tqdm

    output_dir = Path(config.output_dir)
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)

    # -- data, model, optimizer, schedule ---------------------------------------------------------------------
    sampler = EpochShuffleSampler(len(train_dataset), config.seed, lengths, config.batch_size)
    dataloader = DataLoader(
        train_dataset,
        batch_size=config.batch_size,
        sampler=sampler,
        collate_fn=collate_fn,
        num_workers=config.num_workers,
        # Its own generator: creating a DataLoader iterator draws a seed, which must not move the global RNG
        # (dropout, masking), or a resumed run would diverge from an uninterrupted one.
        generator=torch.Generator().manual_seed(config.seed),
    )
    optimizer = torch.optim.AdamW(
        optimizer_param_groups(model, config.weight_decay), lr=config.learning_rate
    )
    model, optimizer, dataloader = accelerator.prepare(model, optimizer, dataloader)

    batches_per_epoch = len(dataloader)  # per process, after sharding
    steps_per_epoch = math.ceil(batches_per_epoch / config.gradient_accumulation_steps)
    if config.max_steps is not None:
        plan = StepPlan(config.max_steps, config.warmup_steps)
        num_epochs = math.ceil(plan.total / steps_per_epoch)
    else:
        num_epochs = config.epochs
        plan = StepPlan(steps_per_epoch * num_epochs, config.warmup_steps)
    # Not prepared on purpose: we step it exactly once per optimizer step, so the schedule is counted in
    # optimizer steps whatever the number of processes.
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, plan.lr_factor)
    accelerator.register_for_checkpointing(scheduler)

    # -- state: fresh, or resumed from output_dir/state --------------------------------------------------------
    state = TrainState(config=asdict(config), total_steps=plan.total)
    saver = StateSaver(accelerator, output_dir)
    _resume(state, saver, plan, config, num_epochs)

    bar = tqdm(
        total=plan.total, initial=min(state.global_step, plan.total),
        disable=not (config.progress and accelerator.is_local_main_process), desc="train", dynamic_ncols=True,
    )
    window: dict[str, list] = {}
    epoch_losses: list = []  # this epoch's batch losses not yet added to the state (kept on the device)
    steps_this_session, timing_started = 0, None

    def flush_epoch_losses() -> None:
        if epoch_losses:
            state.epoch_loss_sum += float(torch.stack([torch.as_tensor(v, device=accelerator.device)
                                                       for v in epoch_losses]).sum())
            state.epoch_loss_count += len(epoch_losses)
            epoch_losses.clear()

    started = time.perf_counter()
    seconds_before = state.train_seconds
    model.train()

    # -- the loop: epochs, batches, optimizer steps ------------------------------------------------------------
    while not state.finished and state.epoch < num_epochs:
        epoch = state.epoch
        sampler.set_epoch(epoch)
        epoch_loader = dataloader
        if state.batches_done:
            epoch_loader = accelerator.skip_first_batches(dataloader, state.batches_done)
        epoch_loader.set_epoch(epoch)
        sampler.set_epoch(epoch)

        batch_index = state.batches_done
        for batch in epoch_loader:
            window_start = (batch_index // config.gradient_accumulation_steps) * config.gradient_accumulation_steps
            sync = (batch_index + 1 - window_start) == config.gradient_accumulation_steps or (
                batch_index + 1 == batches_per_epoch
            )
            with nullcontext() if sync else accelerator.no_sync(model):
                outputs = model(**batch)
                loss = _output_value(outputs, "loss")
                if loss is None:
                    raise ValueError("model(**batch) returned no .loss: pass labels in the batch")
                accelerator.backward(loss)

            window.setdefault("loss", []).append(_detached(loss))
            accuracy = _output_value(outputs, "accuracy")
            if accuracy is not None:
                window.setdefault("accuracy", []).append(_detached(accuracy))
            if batch_metrics is not None:
                for key, value in batch_metrics(outputs, batch).items():
                    window.setdefault(key, []).append(_detached(value))
            epoch_losses.append(window["loss"][-1])
            batch_index += 1

            if not sync:
                continue
            if config.max_grad_norm and config.max_grad_norm > 0:
                accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state.global_step += 1
            state.batches_done = batch_index
            step = state.global_step
            bar.update(1)
            steps_this_session += 1
            # A time budget: time config.calibration_steps steps (after 10 warm ones), then size the plan.
            if steps_this_session == 10:
                timing_started = time.perf_counter()
            if config.time_budget_s and steps_this_session == 10 + config.calibration_steps:
                seconds_per_step = (time.perf_counter() - timing_started) / config.calibration_steps
                bar.total = _fit_plan_to_budget(plan, state, config, accelerator, seconds_per_step,
                                                seconds_before + time.perf_counter() - started)
                bar.refresh()

            if step % config.log_every == 0 or step == plan.total:
                means = accelerator.reduce(_window_means(window, accelerator.device), reduction="mean")
                row = {"step": step, "epoch": round(epoch + batch_index / batches_per_epoch, 4)}
                row.update({k: round(float(m), 5) for k, m in zip(window.keys(), means.tolist())})
                row["lr"] = scheduler.get_last_lr()[0]
                state.epoch_steps.append(row)
                bar.set_postfix({k: row[k] for k in row if k in ("loss", "accuracy")})
                if accelerator.is_main_process:
                    bar.write(json.dumps(row))
                window = {}
            state.train_seconds = seconds_before + time.perf_counter() - started
            if step >= plan.total:
                break
            if config.save_every and step % config.save_every == 0:
                flush_epoch_losses()
                saver.save(state)

        # -- end of an epoch (or of training, when max_steps stops it mid-epoch): its row, evaluation, a save --
        flush_epoch_losses()
        loss_sum = torch.tensor([state.epoch_loss_sum, state.epoch_loss_count], device=accelerator.device)
        loss_sum = accelerator.reduce(loss_sum, reduction="sum")
        row = {"epoch": epoch + 1, "global_step": state.global_step,
               "train_loss": float(loss_sum[0] / max(loss_sum[1], 1))}
        if eval_fn is not None:
            model.eval()
            with torch.no_grad():
                row.update(eval_fn(model, accelerator, epoch + 1) or {})
            model.train()
        row["steps"] = state.epoch_steps
        state.history.append(row)
        accelerator.print(json.dumps({k: v for k, v in row.items() if k != "steps"}, ensure_ascii=False))
        state.epoch, state.batches_done, state.epoch_loss_sum, state.epoch_loss_count = epoch + 1, 0, 0.0, 0
        state.epoch_steps = []
        state.finished = state.global_step >= plan.total or state.epoch >= num_epochs
        state.train_seconds = seconds_before + time.perf_counter() - started
        # Short epochs (pretraining packs ~250 steps in one) would otherwise save the full state every epoch.
        if state.finished or not config.save_every or state.global_step - saver.saved_at_step >= config.save_every:
            saver.save(state)

    bar.close()
    # Leave the caller's model object as it was given: no DDP wrapper, no autocast hooks on forward.
    accelerator.unwrap_model(model, keep_fp32_wrapper=False)
    return state.history


def read_progress(output_dir: str | os.PathLike) -> dict | None:
    """The progress.json of a run's last saved state (None if there is none): step, epoch, history, timing."""
    path = _find_state(Path(output_dir))
    return json.loads((path / PROGRESS_FILE).read_text()) if path else None
