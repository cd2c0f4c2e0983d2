"""`dsrelu run` end to end on tiny budgets: files, protocol, resume and bad input."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pytest
import torch

from dsrelu.cli import main
from dsrelu.data import load_dataset
from dsrelu.errors import ConfigError, ResultsError
from dsrelu.experiment import RunConfig, engine, run_experiment
from dsrelu.experiment.runner import _locked
from dsrelu.results import EPOCH_COLUMNS, FOLD_COLUMNS

SHARED_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "mitbih-kaggle-sample"
TIME_COLUMNS = {"epoch_time_s", "mean_epoch_time_s"}


def tiny(**overrides: object) -> RunConfig:
    settings = dict(
        datasets=("digits",),
        activations=("relu", "dsrelu"),
        folds=2,
        max_epochs=2,
        patience=2,
        batch_size=16,
        limit_samples=60,
        image_size=8,
        device="cpu",
        preset="quick",
    )
    settings.update(overrides)
    return RunConfig(**settings)  # type: ignore[arg-type]


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def without_times(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in row.items() if k not in TIME_COLUMNS} for row in rows]


class SeenIndices(pl.Callback):
    """Records the sample indices each cell trained and validated on."""

    def __init__(self) -> None:
        self.cells: list[tuple[tuple[int, ...], tuple[int, ...]]] = []

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        train = trainer.train_dataloader.dataset.indices.tolist()
        val = trainer.val_dataloaders.dataset.indices.tolist()
        self.cells.append((tuple(train), tuple(val)))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SeenIndices]:
    out = tmp_path_factory.mktemp("run")
    seen = SeenIndices()
    run_experiment(tiny(), out, callbacks=[seen])
    return out, seen


def test_files_and_columns_follow_the_contract(finished_run: tuple[Path, SeenIndices]) -> None:
    out, _ = finished_run
    epochs, folds = read(out / "epochs.csv"), read(out / "folds.csv")
    assert tuple(epochs[0]) == EPOCH_COLUMNS
    assert tuple(folds[0]) == FOLD_COLUMNS
    assert len(folds) == 4
    assert {(r["activation"], r["fold"]) for r in folds} == {
        (a, f) for a in ("relu", "dsrelu") for f in ("1", "2")
    }
    assert len(epochs) == sum(int(r["stopped_epoch"]) for r in folds)
    config = json.loads((out / "config.json").read_text())
    assert config["select_on"] == "inner" and config["folds"] == 2
    assert {"torch", "lightning", "python"} <= set(config["versions"])
    assert not (out / "checkpoints").exists() and not (out / ".lock").exists()


def test_slope_column_follows_the_planned_budget(finished_run: tuple[Path, SeenIndices]) -> None:
    out, _ = finished_run
    for row in read(out / "epochs.csv"):
        if row["activation"] == "relu":
            assert row["slope"] == ""
        else:
            # Progress at the end of epoch e of E planned epochs is e / E.
            t = int(row["epoch"]) / 2
            a, b = math.tan(math.radians(85)), math.tan(math.radians(10))
            expected = a + (b - a) / (1 + math.exp(-5 * (t - 0.5)))
            assert float(row["slope"]) == pytest.approx(expected, rel=1e-12)


def test_first_epoch_loss_is_that_of_fresh_weights(finished_run: tuple[Path, SeenIndices]) -> None:
    out, _ = finished_run
    firsts = [
        r for r in read(out / "epochs.csv") if r["epoch"] == "1" and r["activation"] == "relu"
    ]
    assert len(firsts) == 2
    for row in firsts:
        # Untrained ResNet-34 logits are O(1): the loss sits within 1 of ln(10).
        assert abs(float(row["train_loss"]) - math.log(10)) < 1.0


def test_folds_are_identical_across_activations(finished_run: tuple[Path, SeenIndices]) -> None:
    _, seen = finished_run
    # Cells run fold by fold: (relu, dsrelu) of fold 1, then of fold 2.
    assert seen.cells[0] == seen.cells[1] and seen.cells[2] == seen.cells[3]
    assert seen.cells[0] != seen.cells[2]
    for train, val in seen.cells:
        assert not set(train) & set(val)


def test_metrics_are_fractions(finished_run: tuple[Path, SeenIndices]) -> None:
    out, _ = finished_run
    for row in read(out / "folds.csv"):
        assert row["status"] == "done"
        for split in ("train", "val", "test"):
            for metric in ("acc", "f1", "auc"):
                assert 0.0 <= float(row[f"{split}_{metric}"]) <= 1.0
        assert int(row["n_train"]) + int(row["n_val"]) + int(row["n_test"]) == 60


def test_rerun_skips_finished_cells(finished_run: tuple[Path, SeenIndices]) -> None:
    out, _ = finished_run
    before = (out / "folds.csv").read_text()
    seen = SeenIndices()
    run_experiment(tiny(), out, callbacks=[seen])
    assert seen.cells == []
    assert (out / "folds.csv").read_text() == before


def test_early_stopping_restores_the_best_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted = [1.0, 0.8, 0.5, 0.7, 0.9, 0.95, 0.99, 1.2]
    original = engine._CellModule._collect
    snapshots: list[dict[str, torch.Tensor]] = []

    def collect(self: engine._CellModule, split: str) -> dict[str, float]:
        metrics = original(self, split)
        if split == "val":
            metrics["loss"] = scripted[self.current_epoch]
            snapshots.append({k: v.clone() for k, v in self.model.state_dict().items()})
        return metrics

    monkeypatch.setattr(engine._CellModule, "_collect", collect)
    data = load_dataset("digits", image_size=8)
    indices = np.arange(90)
    splits = engine.CellSplits(train=indices[:60], val=indices[60:75], test=indices[75:])
    settings = engine.TrainSettings(
        max_epochs=8,
        patience=2,
        batch_size=16,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        device="cpu",
    )
    result = engine.train_cell(data, "relu", splits, settings, seed=1, checkpoint_dir=tmp_path)
    # Best at epoch 3; epochs 4 and 5 do not improve, patience 2 stops after epoch 5.
    assert result.best_epoch == 3 and result.stopped_epoch == 5
    assert [row["val_loss"] for row in result.history] == scripted[:5]
    restored = result.model.state_dict()
    for key, value in snapshots[2].items():
        assert torch.equal(restored[key], value), key
    assert not torch.equal(restored["conv1.weight"], snapshots[4]["conv1.weight"])


class Crash(pl.Callback):
    """Fails the run at the end of a given epoch of a given cell."""

    def __init__(self, cell: int, epoch: int) -> None:
        self.cell, self.epoch, self.fits = cell, epoch, 0

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.fits += 1

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.fits == self.cell and trainer.current_epoch + 1 == self.epoch:
            raise RuntimeError("simulated crash")


def test_resume_after_a_crash_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    config = tiny(max_epochs=3, patience=3, deterministic=True)
    run_experiment(config, tmp_path / "whole", checkpoint_interval_s=0)

    broken = tmp_path / "broken"
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_experiment(config, broken, checkpoint_interval_s=0, callbacks=[Crash(cell=3, epoch=2)])
    assert len(read(broken / "folds.csv")) == 2  # two cells finished before the crash
    assert (broken / "checkpoints" / "digits" / "relu" / "fold2" / "last.ckpt").exists()
    seen = SeenIndices()
    run_experiment(config, broken, checkpoint_interval_s=0, callbacks=[seen])
    assert len(seen.cells) == 2  # the interrupted cell and the one after it
    assert without_times(read(broken / "folds.csv")) == without_times(
        read(tmp_path / "whole" / "folds.csv")
    )
    assert without_times(read(broken / "epochs.csv")) == without_times(
        read(tmp_path / "whole" / "epochs.csv")
    )


def test_diverged_cell_is_recorded_and_the_grid_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = engine._CellModule._collect

    def collect(self: engine._CellModule, split: str) -> dict[str, float]:
        metrics = original(self, split)
        if split == "train" and self._dsrelu is not None:
            metrics["loss"] = math.nan
        return metrics

    monkeypatch.setattr(engine._CellModule, "_collect", collect)
    run_experiment(tiny(folds=2, max_epochs=2), tmp_path)
    rows = read(tmp_path / "folds.csv")
    assert [(r["activation"], r["status"]) for r in rows] == [
        ("relu", "done"),
        ("dsrelu", "diverged"),
        ("relu", "done"),
        ("dsrelu", "diverged"),
    ]
    for row in rows:
        if row["status"] == "diverged":
            assert row["stopped_epoch"] == "1" and row["test_acc"] == "" and row["val_acc"] == ""


def test_a_second_run_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    with _locked(tmp_path):
        with pytest.raises(ConfigError, match="is in use by another dsrelu run"):
            run_experiment(tiny(), tmp_path)


def test_changed_config_is_refused_unless_forced(tmp_path: Path) -> None:
    run_experiment(tiny(max_epochs=1, activations=("relu",)), tmp_path)
    before = (tmp_path / "folds.csv").read_text()
    with pytest.raises(ConfigError, match=r"other settings \(lr: 0.0001 -> 0.001\)"):
        run_experiment(tiny(max_epochs=1, activations=("relu",), lr=1e-3), tmp_path)
    assert (tmp_path / "folds.csv").read_text() == before
    run_experiment(tiny(max_epochs=1, activations=("relu",), lr=1e-3), tmp_path, force=True)
    backups = list(tmp_path.glob("replaced-*"))
    assert len(backups) == 1 and (backups[0] / "folds.csv").read_text() == before
    assert json.loads((tmp_path / "config.json").read_text())["lr"] == 1e-3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "imagenet"], "unknown dataset 'imagenet'"),
        (["--activations", "relu,swish9"], "unknown activation 'swish9'"),
        (["--dataset", "mitbih", "--data-dir", "/nonexistent/mitbih"], "/nonexistent/mitbih"),
        (["--dataset", "mitbih"], "--data-dir"),
        (["--folds", "1"], "folds must be an integer >= 2, got 1"),
        (["--folds", "400"], "folds=400 is more than any class of digits has samples"),
        (["--folds", "three"], "argument --folds: invalid int value: 'three'"),
        (["--lr", "fast"], "argument --lr: invalid float value: 'fast'"),
        (["--select-on", "test"], "argument --select-on: invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    out = tmp_path / "out"
    code = main(["run", "--out", str(out), *argv])
    err = capsys.readouterr().err
    assert code == 2
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in err
    assert not out.exists()


def test_cli_prints_the_summary_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "run",
        "--out",
        str(tmp_path),
        "--activations",
        "relu,dsrelu",
        "--folds",
        "2",
        "--max-epochs",
        "1",
        "--limit-samples",
        "40",
        "--image-size",
        "8",
        "--no-progress-bar",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "acc %" in out and "relu" in out and "dsrelu" in out and "2/2" in out


@pytest.mark.skipif(not SHARED_SAMPLE.is_dir(), reason="../shared/data MIT-BIH sample is absent")
def test_main_job_on_the_real_mitbih_sample(tmp_path: Path) -> None:
    config = tiny(
        datasets=("mitbih",),
        activations=("relu", "leaky_relu"),
        data_dir=str(SHARED_SAMPLE),
        limit_samples=None,
        image_size=None,
        max_epochs=2,
        batch_size=8,
        lr=1e-3,
        preset="paper",
    )
    # Batches of 8 give 112 optimizer steps: enough for BatchNorm's running statistics
    # to settle, which evaluation (eval mode) depends on. DSReLU is left out here: with
    # its whole slope schedule squeezed into 112 steps the running statistics lag the
    # slope (see the README's notes), which a 2-epoch budget cannot show fairly.
    rows = run_experiment(config, tmp_path)
    assert len(rows) == 4
    for row in rows:
        assert row["status"] == "done"
        assert row["test_acc"] > 0.2  # chance is 0.2 with five balanced classes


def test_resuming_on_other_data_is_refused(tmp_path: Path) -> None:
    run_experiment(tiny(max_epochs=1, activations=("relu",)), tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["data"]["digits"]["samples"] == 60
    config["data"]["digits"]["sha256"] = "0" * 64  # as if --data-dir held other files
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="data: other samples than the run started with"):
        run_experiment(tiny(max_epochs=1, activations=("relu",)), tmp_path)


def test_damaged_folds_csv_is_refused_on_resume(tmp_path: Path) -> None:
    run_experiment(tiny(max_epochs=1, activations=("relu",)), tmp_path)
    path = tmp_path / "folds.csv"
    text = path.read_text()
    path.write_text(text[: len(text) - 40])  # the last row cut mid-line
    with pytest.raises(ResultsError, match=r"folds.csv: line 3 does not have the 22 fields"):
        run_experiment(tiny(max_epochs=1, activations=("relu",)), tmp_path)


def test_a_cell_retrained_after_a_crash_keeps_one_set_of_epoch_rows(tmp_path: Path) -> None:
    config = tiny(max_epochs=2, activations=("relu",))
    run_experiment(config, tmp_path)
    folds = (tmp_path / "folds.csv").read_text().splitlines()
    # A crash after epochs.csv but before folds.csv was written for the last cell.
    (tmp_path / "folds.csv").write_text("\n".join(folds[:-1]) + "\n")
    run_experiment(config, tmp_path)
    rows = read(tmp_path / "epochs.csv")
    keys = [(r["fold"], r["epoch"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert len(rows) == sum(int(r["stopped_epoch"]) for r in read(tmp_path / "folds.csv"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--activations", ""], "--activations is empty"),
        (["--dataset", "digits,digits"], "datasets must not repeat"),
        (["--device", "tpu"], "device must be auto, cpu, cuda or cuda:N, got 'tpu'"),
        (["--limit-samples", "5", "--folds", "2"], "too small for a stratified inner"),
    ],
)
def test_more_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    out = tmp_path / "out"
    assert main(["run", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_flags_without_a_command_mean_run_and_bad_paths_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["--folds", "1", "--out", str(tmp_path / "o")]) == 2
    assert "folds must be an integer >= 2, got 1" in capsys.readouterr().err
    assert main(["run", "--out", str(blocker / "sub"), "--limit-samples", "40"]) == 2
    assert "cannot create the directory" in capsys.readouterr().err
    assert main(["slope", "--out", str(blocker / "s.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dsrelu: error:") and "Traceback" not in err
