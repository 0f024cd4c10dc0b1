"""The shared training loop: it learns, logs, schedules in optimizer steps, and resumes exactly."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from mbti_core.training.loop import EpochShuffleSampler, LoopConfig, read_progress, train


class ToyClassifier(nn.Module):
    """Two-class problem on 8 features; returns loss and accuracy like an HF model output would."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Dropout(0.1), nn.Linear(16, 2))

    def forward(self, features, labels):
        logits = self.net(features)
        loss = nn.functional.cross_entropy(logits, labels)
        return {"loss": loss, "logits": logits, "accuracy": (logits.argmax(-1) == labels).float().mean()}


def toy_dataset(n=96, seed=1):
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(n, 8, generator=generator)
    labels = (features[:, 0] + 0.5 * features[:, 1] > 0).long()
    return [{"features": f, "labels": y} for f, y in zip(features, labels)]


def config(tmp_path, name, **overrides):
    values = dict(output_dir=str(tmp_path / name), learning_rate=0.05, batch_size=8, log_every=2,
                  save_every=3, progress=False, mixed_precision="no", seed=7)
    values.update(overrides)
    return LoopConfig(**values)


def test_loss_decreases_and_history_has_epochs_steps_and_eval(tmp_path):
    model = ToyClassifier()
    data = toy_dataset()
    calls = []

    def eval_fn(model, accelerator, epoch):
        calls.append(epoch)
        batch = torch.utils.data.default_collate(data)
        out = model(**batch)
        return {"eval_accuracy": float(out["accuracy"])}

    history = train(model, data, config(tmp_path, "run", epochs=4), eval_fn=eval_fn)

    assert calls == [1, 2, 3, 4]
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert history[-1]["global_step"] == 4 * 12  # 96 examples / batch 8 = 12 steps per epoch
    assert history[-1]["train_loss"] < 0.6 * history[0]["train_loss"]
    assert history[-1]["eval_accuracy"] > 0.85
    step_rows = history[0]["steps"]
    assert [r["step"] for r in step_rows] == list(range(2, 13, 2))
    assert {"loss", "accuracy", "lr", "epoch"} <= set(step_rows[0])
    # linear decay to zero, counted in optimizer steps
    assert history[-1]["steps"][-1]["lr"] == pytest.approx(0.0, abs=1e-12)
    # the caller's object is trained in place and left without autocast hooks
    assert not hasattr(model.forward, "__wrapped__")


def test_gradient_accumulation_counts_optimizer_steps_and_warmup(tmp_path):
    model = ToyClassifier()
    history = train(model, toy_dataset(), config(tmp_path, "acc", epochs=1, gradient_accumulation_steps=4,
                                                  warmup_steps=2, log_every=1))
    steps = history[0]["steps"]
    assert [r["step"] for r in steps] == [1, 2, 3]  # 12 batches / 4 = 3 optimizer steps
    lrs = [r["lr"] for r in steps]
    # lr after each step: warm-up 1/2 of peak, then peak, then linear decay to 0 at step 3 (3 steps in all)
    assert lrs == pytest.approx([0.025, 0.05, 0.0])


def test_max_steps_overrides_epochs_and_stops_mid_epoch(tmp_path):
    calls = []
    history = train(ToyClassifier(), toy_dataset(), config(tmp_path, "max", epochs=10, max_steps=17),
                    eval_fn=lambda m, a, e: calls.append(e) or {})
    assert history[-1]["global_step"] == 17
    assert [row["epoch"] for row in history] == [1, 2]
    assert calls == [1, 2]


class Killed(RuntimeError):
    pass


def test_resume_mid_epoch_gives_the_same_model_as_an_uninterrupted_run(tmp_path):
    data = toy_dataset()
    full_model = ToyClassifier()
    full = train(full_model, data, config(tmp_path, "full", epochs=2))

    # Same run, killed while computing step 8 (mid epoch 1; the last saved state is step 6).
    model = ToyClassifier()
    seen = {"batches": 0}

    def kill_at_step_8(outputs, batch):
        seen["batches"] += 1
        if seen["batches"] == 8:
            raise Killed()
        return {}

    with pytest.raises(Killed):
        train(model, data, config(tmp_path, "cut", epochs=2), batch_metrics=kill_at_step_8)
    saved = read_progress(tmp_path / "cut")
    assert saved["global_step"] == 6 and saved["batches_done"] == 6 and saved["epoch"] == 0

    # A new process would build a fresh model: the state carries the weights.
    fresh = ToyClassifier()
    resumed = train(fresh, data, config(tmp_path, "cut", epochs=2))
    assert resumed[-1]["global_step"] == full[-1]["global_step"] == 24
    for a, b in zip(full_model.state_dict().values(), fresh.state_dict().values()):
        torch.testing.assert_close(a, b)
    assert [r["train_loss"] for r in resumed] == pytest.approx([r["train_loss"] for r in full], rel=1e-5)

    # Running the finished job again is a no-op that returns the history and the trained weights.
    again_model = ToyClassifier()
    again = train(again_model, data, config(tmp_path, "cut", epochs=2))
    assert again == resumed
    for a, b in zip(full_model.state_dict().values(), again_model.state_dict().values()):
        torch.testing.assert_close(a, b)

    # resume=False starts over.
    restarted = train(ToyClassifier(), data, config(tmp_path, "cut", epochs=1, resume=False))
    assert restarted[-1]["global_step"] == 12
    progress = json.loads((tmp_path / "cut" / "state" / "progress.json").read_text())
    assert progress["global_step"] == 12


def test_empty_dataset_and_missing_loss_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        train(ToyClassifier(), [], config(tmp_path, "empty"))

    class NoLoss(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 2)

        def forward(self, features, labels):
            return {"logits": self.lin(features)}

    with pytest.raises(ValueError, match="no .loss"):
        train(NoLoss(), toy_dataset(16), config(tmp_path, "noloss"))


def test_phases_sharing_one_accelerator_checkpoint_only_their_own_objects(tmp_path):
    from mbti_core.training.loop import make_accelerator

    accelerator = make_accelerator(config(tmp_path, "x"))
    first, second = ToyClassifier(), ToyClassifier()
    train(first, toy_dataset(), config(tmp_path, "phase1", epochs=1), accelerator=accelerator)
    train(second, toy_dataset(), config(tmp_path, "phase2", epochs=1), accelerator=accelerator)
    saved = sorted(p.name for p in (tmp_path / "phase2" / "state").iterdir())
    assert "model.safetensors" in saved and not any(name.startswith("model_1") for name in saved)
    assert not any(name.startswith("optimizer_1") for name in saved)
    # and the second phase resumes (as done) on a fresh accelerator
    again = ToyClassifier()
    train(again, toy_dataset(), config(tmp_path, "phase2", epochs=1), accelerator=accelerator)
    for a, b in zip(second.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b)


class SlowToyClassifier(ToyClassifier):
    """Each forward takes ~5 ms, so a step's pace is known and a time budget binds."""

    def forward(self, features, labels):
        import time

        time.sleep(0.005)
        return super().forward(features, labels)


def test_time_budget_shortens_the_plan_and_still_decays_to_zero(tmp_path):
    # 2,000 planned steps at >= 5 ms each need >= 10 s; a 0.6 s budget leaves room for ~100 of them.
    cfg = config(tmp_path, "budget", max_steps=2000, log_every=10, save_every=0, time_budget_s=0.6,
                 calibration_steps=20, warmup_steps=5)
    history = train(SlowToyClassifier(), toy_dataset(), cfg)

    progress = read_progress(cfg.output_dir)
    done = history[-1]["global_step"]
    assert 30 <= done < 200
    assert progress["total_steps"] == progress["budget_total_steps"] == done
    assert progress["finished"]
    assert progress["train_seconds"] < 3.0
    assert history[-1]["steps"][-1]["lr"] == pytest.approx(0.0, abs=1e-12)  # the decay followed the new plan

    # Re-running the same command resumes to "done" under the shortened plan instead of training on.
    again = train(SlowToyClassifier(), toy_dataset(), cfg)
    assert again[-1]["global_step"] == done


def test_length_grouped_order_is_a_seeded_permutation_with_tight_batches():
    lengths = [int(n) for n in torch.randint(1, 129, (4096,), generator=torch.Generator().manual_seed(3))]
    sampler = EpochShuffleSampler(len(lengths), seed=5, lengths=lengths, batch_size=64)
    first = list(sampler)
    assert sorted(first) == list(range(len(lengths)))
    assert list(sampler) == first  # the same (seed, epoch) gives the same order: resumable
    sampler.set_epoch(1)
    assert list(sampler) != first

    def padded_tokens(order):  # what dynamic padding pads to, summed over batches
        return sum(max(lengths[i] for i in order[s:s + 64]) * len(order[s:s + 64]) for s in range(0, len(order), 64))

    random_order = list(EpochShuffleSampler(len(lengths), seed=5))
    assert padded_tokens(first) < 0.6 * padded_tokens(random_order)
    with pytest.raises(ValueError, match="lengths"):
        EpochShuffleSampler(10, seed=0, lengths=[1, 2], batch_size=2)


def test_group_by_length_needs_lengths_and_trains(tmp_path):
    data = toy_dataset()
    with pytest.raises(ValueError, match="lengths"):
        train(ToyClassifier(), data, config(tmp_path, "nolen", group_by_length=True))
    lengths = [1 + i % 7 for i in range(len(data))]
    history = train(ToyClassifier(), data, config(tmp_path, "grouped", epochs=3, group_by_length=True),
                    lengths=lengths)
    assert history[-1]["global_step"] == 36 and history[-1]["train_loss"] < history[0]["train_loss"]


def test_step_plan_schedule_and_train_state_file(tmp_path):
    """The schedule follows the plan (warm-up, linear decay to zero, shortened by a budget); progress.json holds
    exactly the TrainState fields, so a run resumes from it."""
    from dataclasses import fields

    from mbti_core.training.loop import StepPlan, TrainState, read_progress

    plan = StepPlan(total=10, warmup=4)
    assert [plan.lr_factor(s) for s in (0, 2, 4, 7, 10, 12)] == [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    plan.shorten_to(3)
    assert (plan.total, plan.warmup) == (3, 3) and plan.lr_factor(3) == 0.0
    train(ToyClassifier(), toy_dataset(), config(tmp_path, "run", epochs=1))
    saved = read_progress(tmp_path / "run")
    assert set(saved) == {f.name for f in fields(TrainState)} and saved["finished"] is True
    assert saved["global_step"] == saved["total_steps"] == 12  # 96 examples / batch 8
