"""ProgressScheduler and the Lightning callback."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dsrelu import DSReLU, DSReLUProgressCallback, ProgressScheduler


def make_model() -> nn.Sequential:
    shared = DSReLU()
    return nn.Sequential(nn.Linear(3, 4), shared, nn.Linear(4, 4), shared, DSReLU())


def progresses(model: nn.Module) -> set[float]:
    return {float(m.progress) for m in model.modules() if isinstance(m, DSReLU)}


def test_progress_reaches_one_after_all_planned_steps() -> None:
    model = make_model()
    scheduler = ProgressScheduler(model, total_steps=7)
    assert progresses(model) == {0.0}
    for step in range(1, 8):
        scheduler.step()
        assert progresses(model) == {step / 7}
    assert progresses(model) == {1.0}
    scheduler.step()  # past the plan: stays at 1
    assert progresses(model) == {1.0}


def test_resuming_from_state_dict_continues() -> None:
    model = make_model()
    scheduler = ProgressScheduler(model, total_steps=10)
    for _ in range(4):
        scheduler.step()
    state = scheduler.state_dict()
    fresh_model = make_model()
    resumed = ProgressScheduler(fresh_model, total_steps=10)
    resumed.load_state_dict(state)
    assert progresses(fresh_model) == {0.4}
    for _ in range(3):
        resumed.step()
    assert progresses(fresh_model) == {0.7}
    assert resumed.state_dict()["step_count"] == 7


def test_epoch_granularity_moves_only_at_epoch_boundaries() -> None:
    model = make_model()
    scheduler = ProgressScheduler(model, total_steps=12, steps_per_epoch=4)
    seen = []
    for _ in range(12):
        scheduler.step()
        seen.append(scheduler.progress)
    assert seen == [0, 0, 0, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3, 1.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"total_steps": 0}, "total_steps must be a positive integer, got 0"),
        ({"total_steps": 2.5}, "total_steps must be a positive integer, got 2.5"),
        ({"total_steps": 5, "steps_per_epoch": -1}, "steps_per_epoch must be a positive integer"),
    ],
)
def test_scheduler_validates(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ProgressScheduler(make_model(), **kwargs)  # type: ignore[arg-type]


def test_load_state_dict_validates_step_count() -> None:
    scheduler = ProgressScheduler(make_model(), total_steps=5)
    with pytest.raises(ValueError, match="step_count must be a non-negative integer, got -1"):
        scheduler.load_state_dict({"step_count": -1, "total_steps": 5})


def test_lightning_callback_follows_optimizer_steps(tmp_path) -> None:
    import lightning.pytorch as pl

    seen: list[float] = []

    class Tiny(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = make_model()

        def training_step(self, batch, batch_idx):  # noqa: ANN001
            seen.append(float(self.net[1].progress))
            (x,) = batch
            return self.net(x).pow(2).mean()

        def configure_optimizers(self):  # noqa: ANN202
            return torch.optim.SGD(self.parameters(), lr=0.01)

    data = torch.utils.data.TensorDataset(torch.randn(12, 3))
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    module = Tiny()
    trainer = pl.Trainer(
        max_epochs=2,
        callbacks=[DSReLUProgressCallback()],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        accelerator="cpu",
    )
    trainer.fit(module, loader)
    # 2 epochs x 3 batches: the forward of step i sees progress (i - 1) / 6.
    assert seen == pytest.approx([i / 6 for i in range(6)])
    assert progresses(module) == {1.0}
