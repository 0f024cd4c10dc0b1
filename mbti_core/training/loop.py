"""The one shared training loop (every phase uses it): explicit, on Accelerate.

In the spirit of transformers' ``run_glue_no_trainer.py``: AdamW (no decay on biases and LayerNorm weights),
a linear warm-up/decay schedule counted in *optimizer* steps, gradient accumulation, gradient clipping,
bf16 autocast on CUDA (``Accelerator(mixed_precision=...)``), a tqdm bar, periodic logs, and resumable state.

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
from dataclasses import asdict, dataclass
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
    if value != "auto":
        if value not in ("no", "bf16", "fp16"):
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


def _find_state(output_dir: Path) -> Path | None:
    """The last complete state folder (a save interrupted half-way leaves the previous one as state.old)."""
    for name in (STATE_DIR, STATE_DIR + ".old"):
        candidate = output_dir / name
        if (candidate / PROGRESS_FILE).is_file():
            return candidate
    return None


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
        total_steps = config.max_steps
        num_epochs = math.ceil(total_steps / steps_per_epoch)
    else:
        num_epochs = config.epochs
        total_steps = steps_per_epoch * num_epochs
    # Linear warm-up then linear decay to zero at plan["total"]. A time budget may shorten the plan once the
    # step time is known, so the lambda reads the plan instead of fixing the total when it is built.
    plan = {"total": total_steps, "warmup": min(config.warmup_steps, total_steps)}

    def linear_schedule(step: int) -> float:
        if step < plan["warmup"]:
            return step / max(1, plan["warmup"])
        return max(0.0, (plan["total"] - step) / max(1, plan["total"] - plan["warmup"]))

    # Not prepared on purpose: we step it exactly once per optimizer step, so the schedule is counted in
    # optimizer steps whatever the number of processes.
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_schedule)
    accelerator.register_for_checkpointing(scheduler)

    # Progress of a run: restored from output_dir/state when resuming.
    progress = {
        "global_step": 0, "epoch": 0, "batches_done": 0, "epoch_loss_sum": 0.0, "epoch_loss_count": 0,
        "history": [], "epoch_steps": [], "config": asdict(config),
        "total_steps": total_steps, "finished": False, "train_seconds": 0.0, "budget_total_steps": None,
    }
    state_path = _find_state(output_dir) if config.resume else None
    if state_path is not None:
        saved = json.loads((state_path / PROGRESS_FILE).read_text())
        if config.time_budget_s and saved.get("budget_total_steps"):
            # The budget already sized this run: keep its plan (the schedule's decay depends on it).
            total_steps = plan["total"] = min(total_steps, saved["budget_total_steps"])
        if saved.get("total_steps") != total_steps:
            logger.warning(
                "resuming %s planned for %s steps with a config planning %s steps; the schedule follows the new plan",
                state_path, saved.get("total_steps"), total_steps,
            )
        accelerator.load_state(str(state_path))
        progress.update({k: saved[k] for k in saved if k not in ("config", "total_steps", "budget_total_steps")})
        progress["total_steps"] = total_steps
        progress["budget_total_steps"] = saved.get("budget_total_steps")
        # A longer plan (more max_steps/epochs) continues a finished run; a shorter one stops at once.
        progress["finished"] = progress["global_step"] >= total_steps or progress["epoch"] >= num_epochs
        accelerator.print(
            f"resumed from {state_path}: step {progress['global_step']}/{total_steps}, "
            f"epoch {progress['epoch'] + 1}, {progress['batches_done']} batches of it done"
        )

    saved_at_step = [progress["global_step"]]

    def save_state() -> None:
        """save_state to state.tmp, then swap it in, so a kill during the save keeps the previous state."""
        saved_at_step[0] = progress["global_step"]
        tmp, final, old = output_dir / (STATE_DIR + ".tmp"), output_dir / STATE_DIR, output_dir / (STATE_DIR + ".old")
        if accelerator.is_main_process and tmp.exists():
            shutil.rmtree(tmp)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp), safe_serialization=True)
        if accelerator.is_main_process:
            _write_json_atomic(tmp / PROGRESS_FILE, progress)
            if old.exists():
                shutil.rmtree(old)
            if final.exists():
                os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        accelerator.wait_for_everyone()

    bar = tqdm(
        total=total_steps, initial=min(progress["global_step"], total_steps),
        disable=not (config.progress and accelerator.is_local_main_process), desc="train", dynamic_ncols=True,
    )
    window: dict[str, list] = {}
    epoch_losses: list = []  # this epoch's batch losses not yet added to progress (kept on the device)
    steps_this_session, calibration_started = 0, None

    def flush_epoch_losses() -> None:
        if epoch_losses:
            progress["epoch_loss_sum"] += float(torch.stack([torch.as_tensor(v, device=accelerator.device)
                                                             for v in epoch_losses]).sum())
            progress["epoch_loss_count"] += len(epoch_losses)
            epoch_losses.clear()

    def fit_plan_to_budget(since: float) -> int:
        """Shorten the plan (and so the decay) to the steps that fit the time budget at the measured pace."""
        seconds_per_step = (time.perf_counter() - since) / config.calibration_steps
        left = config.time_budget_s - (seconds_before + time.perf_counter() - started)
        fit = torch.tensor([progress["global_step"] + max(left / seconds_per_step, 1.0)], device=accelerator.device)
        fit = int(accelerator.reduce(fit, reduction="mean").item())  # all processes follow one plan
        new_total = min(plan["total"], fit)
        if new_total < plan["total"]:
            accelerator.print(f"time budget {config.time_budget_s:.0f} s at {seconds_per_step * 1000:.1f} ms/step: "
                              f"plan shortened from {plan['total']} to {new_total} steps")
        plan["total"] = progress["total_steps"] = progress["budget_total_steps"] = new_total
        plan["warmup"] = min(plan["warmup"], new_total)
        return new_total

    started = time.perf_counter()
    seconds_before = progress["train_seconds"]
    model.train()

    while not progress["finished"] and progress["epoch"] < num_epochs:
        epoch = progress["epoch"]
        sampler.set_epoch(epoch)
        epoch_loader = dataloader
        if progress["batches_done"]:
            epoch_loader = accelerator.skip_first_batches(dataloader, progress["batches_done"])
        epoch_loader.set_epoch(epoch)
        sampler.set_epoch(epoch)

        batch_index = progress["batches_done"]
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
            progress["global_step"] += 1
            progress["batches_done"] = batch_index
            step = progress["global_step"]
            bar.update(1)
            steps_this_session += 1
            if steps_this_session == 10:
                calibration_started = time.perf_counter()
            if config.time_budget_s and steps_this_session == 10 + config.calibration_steps:
                total_steps = fit_plan_to_budget(calibration_started)
                bar.total = total_steps
                bar.refresh()

            if step % config.log_every == 0 or step == total_steps:
                means = accelerator.reduce(_window_means(window, accelerator.device), reduction="mean")
                row = {"step": step, "epoch": round(epoch + batch_index / batches_per_epoch, 4)}
                row.update({k: round(float(m), 5) for k, m in zip(window.keys(), means.tolist())})
                row["lr"] = scheduler.get_last_lr()[0]
                progress["epoch_steps"].append(row)
                bar.set_postfix({k: row[k] for k in row if k in ("loss", "accuracy")})
                if accelerator.is_main_process:
                    bar.write(json.dumps(row))
                window = {}
            progress["train_seconds"] = seconds_before + time.perf_counter() - started
            if step >= total_steps:
                break
            if config.save_every and step % config.save_every == 0:
                flush_epoch_losses()
                save_state()

        # End of an epoch (or of training, when max_steps stops it mid-epoch).
        flush_epoch_losses()
        loss_sum = torch.tensor([progress["epoch_loss_sum"], progress["epoch_loss_count"]], device=accelerator.device)
        loss_sum = accelerator.reduce(loss_sum, reduction="sum")
        row = {
            "epoch": epoch + 1,
            "global_step": progress["global_step"],
            "train_loss": float(loss_sum[0] / max(loss_sum[1], 1)),
        }
        if eval_fn is not None:
            model.eval()
            with torch.no_grad():
                row.update(eval_fn(model, accelerator, epoch + 1) or {})
            model.train()
        row["steps"] = progress["epoch_steps"]
        progress["history"].append(row)
        accelerator.print(json.dumps({k: v for k, v in row.items() if k != "steps"}, ensure_ascii=False))
        progress.update(epoch=epoch + 1, batches_done=0, epoch_loss_sum=0.0, epoch_loss_count=0, epoch_steps=[])
        progress["finished"] = progress["global_step"] >= total_steps or progress["epoch"] >= num_epochs
        progress["train_seconds"] = seconds_before + time.perf_counter() - started
        # Short epochs (pretraining packs ~250 steps in one) would otherwise save the full state every epoch.
        if progress["finished"] or not config.save_every or progress["global_step"] - saved_at_step[0] >= config.save_every:
            save_state()

    bar.close()
    # Leave the caller's model object as it was given: no DDP wrapper, no autocast hooks on forward.
    accelerator.unwrap_model(model, keep_fp32_wrapper=False)
    return progress["history"]


def read_progress(output_dir: str | os.PathLike) -> dict | None:
    """The progress.json of a run's last saved state (None if there is none): step, epoch, history, timing."""
    path = _find_state(Path(output_dir))
    return json.loads((path / PROGRESS_FILE).read_text()) if path else None
