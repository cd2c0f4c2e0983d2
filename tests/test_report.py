"""``dsrelu report``: tables, figures and files built from a hand-made run directory."""

from __future__ import annotations

import base64
import html
import importlib
import io
import json
import math
import re
import shutil
import subprocess
import sys
import types
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from scipy import stats as scipy_stats

from dsrelu.errors import ConfigError, ResultsError
from dsrelu.report import (
    build_report,
    comparisons,
    curves_figure,
    epoch_time_figure,
    epoch_time_ratio_table,
    epoch_time_table,
    fold_table,
    improvement_table,
    improvements,
    load_run,
    mean_table,
    plot_slope,
    report_blocks,
    statistics_table,
    summary_rows,
)
from dsrelu.report.document import Table
from dsrelu.results import EPOCH_COLUMNS, FOLD_COLUMNS, read_csv_rows, write_csv_rows
from test_report_stats import _holm_by_definition as holm_by_definition

ACTIVATIONS = ["relu", "tanh", "dsrelu"]
K = 5
# Held-out accuracy, by hand. tanh's fold 2 diverged on digits; on mitbih dsrelu's
# fold 5 has no row (an incomplete run).
TEST_ACC = {
    "relu": [0.90, 0.88, 0.91, 0.87, 0.89],
    "tanh": [0.85, 0.82, 0.86, 0.84, 0.83],
    "dsrelu": [0.92, 0.90, 0.93, 0.89, 0.95],
}
DIVERGED = {("digits", "tanh", 2)}
MISSING = {("mitbih", "dsrelu", 5)}
# A diverged row still carries numbers in the file; none may reach the report.
DIVERGED_VALUE = 0.4242
SPLITS = ("train", "val", "test")
METRICS = ("loss", "acc", "f1", "auc")


def make_values(datasets: list[str], seed: int = 7) -> dict[tuple[str, str, int], dict]:
    """Per cell, every number of its folds.csv row (rounded to 4 decimals)."""
    rng = np.random.default_rng(seed)
    values = {}
    for dataset in datasets:
        for activation in ACTIVATIONS:
            for fold in range(1, K + 1):
                row: dict[str, float] = {}
                for split in SPLITS:
                    for metric in METRICS:
                        row[f"{split}_{metric}"] = round(float(rng.uniform(0.5, 1.0)), 4)
                row["test_acc"] = TEST_ACC[activation][fold - 1]
                row["mean_epoch_time_s"] = round(float(rng.uniform(0.5, 2.0)), 4)
                if (dataset, activation, fold) in DIVERGED:
                    row = dict.fromkeys(row, DIVERGED_VALUE)
                values[(dataset, activation, fold)] = row
    return values


def write_run(
    run_dir: Path,
    *,
    datasets: tuple[str, ...] = ("digits",),
    select_on: str = "inner",
    epochs: bool = True,
    config: dict[str, Any] | None = None,
) -> dict[tuple[str, str, int], dict]:
    """Write config.json, folds.csv and epochs.csv; return the values written."""
    run_dir.mkdir(parents=True, exist_ok=True)
    values = make_values(list(datasets))
    settings = {
        "select_on": select_on,
        "folds": K,
        "datasets": list(datasets),
        "activations": ACTIVATIONS,
        "seed": 0,
    }
    settings.update(config or {})
    (run_dir / "config.json").write_text(json.dumps(settings), encoding="utf-8")
    fold_rows, epoch_rows = [], []
    for (dataset, activation, fold), row in values.items():
        if (dataset, activation, fold) in MISSING:
            continue
        status = "diverged" if (dataset, activation, fold) in DIVERGED else "done"
        key = {"dataset": dataset, "activation": activation, "fold": fold}
        fold_rows.append({**key, "status": status, "best_epoch": 2, "stopped_epoch": 3, **row})
        for epoch in (1, 2, 3):
            epoch_row = {**key, "epoch": epoch, "epoch_time_s": 1.0, "slope": None}
            for split in ("train", "val"):
                epoch_row[f"{split}_loss"] = 1.0 / epoch + 0.01 * fold
                for metric in ("acc", "f1", "auc"):
                    epoch_row[f"{split}_{metric}"] = 0.6 + 0.1 * epoch - 0.01 * fold
            if activation == "dsrelu":
                epoch_row["slope"] = 10.0 - epoch
            epoch_rows.append(epoch_row)
    write_csv_rows(run_dir / "folds.csv", FOLD_COLUMNS, fold_rows)
    if epochs:
        write_csv_rows(run_dir / "epochs.csv", EPOCH_COLUMNS, epoch_rows)
    return values


def fold_values(values: dict, dataset: str, activation: str, column: str) -> list[float]:
    """The numbers a finished fold contributes; NaN for diverged and missing folds."""
    out = []
    for fold in range(1, K + 1):
        key = (dataset, activation, fold)
        out.append(math.nan if key in DIVERGED | MISSING else values[key][column])
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One report of a two-dataset run with a diverged and a missing cell."""
    run_dir = tmp_path_factory.mktemp("run")
    values = write_run(run_dir, datasets=("digits", "mitbih"))
    return build_report(run_dir), values


# --- tables: every number ------------------------------------------------------------


def test_fold_table_shows_every_value_in_percent_and_marks_the_best(tmp_path: Path) -> None:
    values = write_run(tmp_path)
    run = load_run(tmp_path)
    table = fold_table(run, "digits")
    assert table.header == ("Split", "Metric", "Fold", *ACTIVATIONS)
    assert len(table.rows) == 3 * 3 * K
    labels = {"train": "Train", "val": "Val", "test": "Test"}
    names = {"acc": "Acc", "f1": "F1", "auc": "AUC"}
    for split in SPLITS:
        for metric in ("acc", "f1", "auc"):
            for fold in range(1, K + 1):
                row = table.row(labels[split], names[metric], str(fold))
                shown = {}
                for activation in ACTIVATIONS:
                    cell = row[activation]
                    if ("digits", activation, fold) in DIVERGED:
                        assert (cell.text, cell.state) == ("diverged", "diverged")
                        continue
                    value = values[("digits", activation, fold)][f"{split}_{metric}"]
                    assert cell.text == f"{value * 100:.2f}"
                    assert cell.value == pytest.approx(value * 100)
                    shown[activation] = round(value * 100, 2)
                best = max(shown.values())
                for activation in ACTIVATIONS:
                    assert row[activation].best == (shown.get(activation) == best)


def test_mean_table_matches_numpy(tmp_path: Path) -> None:
    values = write_run(tmp_path)
    table = mean_table(load_run(tmp_path), "digits")
    labels = {"train": "Train", "val": "Val", "test": "Test"}
    names = {"acc": "Acc", "f1": "F1", "auc": "AUC"}
    for split in SPLITS:
        for metric in ("acc", "f1", "auc"):
            row = table.row(labels[split], names[metric])
            complete = {}
            for activation in ACTIVATIONS:
                present = [
                    v
                    for v in fold_values(values, "digits", activation, f"{split}_{metric}")
                    if not math.isnan(v)
                ]
                mean = float(np.mean(present)) * 100
                std = float(np.std(present, ddof=1)) * 100
                cell = row[activation]
                assert cell.value == pytest.approx(mean)
                assert cell.spread == pytest.approx(std)
                suffix = "" if len(present) == K else f" ({len(present)}/{K})"
                assert cell.text == f"{mean:.2f} ± {std:.2f}{suffix}"
                if len(present) == K:
                    complete[activation] = round(mean, 2)
            best = max(complete.values())
            for activation in ACTIVATIONS:
                assert row[activation].best == (complete.get(activation) == best)
    # tanh has a diverged fold: its mean is over 4 folds and never marked best.
    assert table.row("Test", "Acc")["tanh"].text.endswith("(4/5)")


def test_improvement_by_hand(tmp_path: Path) -> None:
    write_run(tmp_path)
    run = load_run(tmp_path)
    found = {(entry.metric, entry.basis): entry for entry in improvements(run, "digits")}
    best = found[("acc", "best fold")]
    # Best folds: dsrelu 0.95, relu 0.91, tanh 0.86 (its diverged 0.4242 is left out).
    assert best.reference_value == 0.95
    assert (best.other_activation, best.other_value) == ("relu", 0.91)
    assert best.percent == pytest.approx((0.95 - 0.91) / 0.91 * 100)
    mean = found[("acc", "mean over folds")]
    # Means: dsrelu 4.59 / 5 = 0.918, relu 4.45 / 5 = 0.89, tanh 3.38 / 4 = 0.845.
    assert mean.reference_value == pytest.approx(0.918)
    assert (mean.other_activation, mean.other_value) == ("relu", pytest.approx(0.89))
    assert mean.other_n == 5
    assert mean.percent == pytest.approx((0.918 - 0.89) / 0.89 * 100)

    table = improvement_table(run, "digits")
    assert table is not None
    row = table.row("Acc", "best fold (paper's Eq. 1)")
    assert row["Improvement (%)"].text == f"{(0.95 - 0.91) / 0.91 * 100:+.2f}"
    assert row["dsrelu"].text == "95.00"
    row = table.row("Acc", "mean over folds (fairer)")
    assert row["Improvement (%)"].text == f"{(0.918 - 0.89) / 0.89 * 100:+.2f}"
    assert any("Eq. 1" in note for note in table.notes)


@pytest.mark.parametrize("metric", ["f1", "auc"])
def test_improvement_other_metrics_match_numpy(tmp_path: Path, metric: str) -> None:
    values = write_run(tmp_path)
    found = {
        entry.basis: entry
        for entry in improvements(load_run(tmp_path), "digits")
        if entry.metric == metric
    }
    column = f"test_{metric}"
    per_activation = {
        activation: [
            v for v in fold_values(values, "digits", activation, column) if not math.isnan(v)
        ]
        for activation in ACTIVATIONS
    }
    for basis, aggregate in (("best fold", max), ("mean over folds", np.mean)):
        scores = {name: float(aggregate(vals)) for name, vals in per_activation.items()}
        other = max((name for name in scores if name != "dsrelu"), key=scores.get)
        expected = (scores["dsrelu"] - scores[other]) / scores[other] * 100
        assert found[basis].other_activation == other
        assert found[basis].percent == pytest.approx(expected)


@pytest.mark.parametrize("metric", ["acc", "f1", "auc"])
def test_statistics_match_scipy_with_holm(tmp_path: Path, metric: str) -> None:
    values = write_run(tmp_path)
    run = load_run(tmp_path)
    results = comparisons(run, "digits", metric)
    assert [result.other for result in results] == ["relu", "tanh"]
    column = f"test_{metric}"
    reference = fold_values(values, "digits", "dsrelu", column)
    t_ps, w_ps = [], []
    for result in results:
        other = fold_values(values, "digits", result.other, column)
        pairs = [(r, o) for r, o in zip(reference, other, strict=True) if not math.isnan(o)]
        ref = np.array([r for r, _ in pairs])
        oth = np.array([o for _, o in pairs])
        diff = ref - oth
        assert result.stats.n == len(pairs) == (4 if result.other == "tanh" else 5)
        assert result.stats.mean_diff == pytest.approx(diff.mean())
        assert result.stats.cohen_dz == pytest.approx(diff.mean() / diff.std(ddof=1))
        half = scipy_stats.t.ppf(0.975, diff.size - 1) * diff.std(ddof=1) / math.sqrt(diff.size)
        assert result.stats.ci_low == pytest.approx(diff.mean() - half)
        assert result.stats.ci_high == pytest.approx(diff.mean() + half)
        t_ps.append(scipy_stats.ttest_rel(ref, oth).pvalue)
        w_ps.append(scipy_stats.wilcoxon(ref, oth).pvalue)
        assert result.stats.t_p == pytest.approx(t_ps[-1])
        assert result.stats.wilcoxon_p == pytest.approx(w_ps[-1])
    for result, t_adj, w_adj in zip(
        results, holm_by_definition(t_ps), holm_by_definition(w_ps), strict=True
    ):
        assert result.t_p_holm == pytest.approx(t_adj)
        assert result.wilcoxon_p_holm == pytest.approx(w_adj)

    table = statistics_table(run, "digits")
    assert table is not None
    label = {"acc": "Acc", "f1": "F1", "auc": "AUC"}[metric]
    for result in results:
        row = table.row(label, result.other)
        assert row["n"].text == str(result.stats.n)
        assert row["Mean diff (pp)"].text == f"{result.stats.mean_diff * 100:+.2f}"
        assert float(row["t-test p"].text) == pytest.approx(result.stats.t_p, abs=5e-5)
        assert float(row["Wilcoxon p (Holm)"].text) == pytest.approx(
            result.wilcoxon_p_holm, abs=5e-5
        )


def test_statistics_say_when_k_is_too_small(tmp_path: Path) -> None:
    write_run(tmp_path)
    table = statistics_table(load_run(tmp_path), "digits")
    assert table is not None
    text = " ".join(table.notes)
    assert "k = 5 is too small for the Wilcoxon signed-rank test" in text
    assert "0.0625" in text and "cannot fall below 0.05" in text


def test_statistics_zero_spread_is_not_available(tmp_path: Path) -> None:
    write_run(tmp_path)
    run = load_run(tmp_path)
    # Make tanh equal to dsrelu on held-out accuracy in every fold.
    for fold in range(1, K + 1):
        row = dict(run.cells[("digits", "tanh", fold)])
        row.update(status="done", test_acc=TEST_ACC["dsrelu"][fold - 1])
        run.cells[("digits", "tanh", fold)] = row  # type: ignore[index]
    result = {entry.other: entry for entry in comparisons(run, "digits", "acc")}["tanh"]
    assert math.isnan(result.stats.t_p) and math.isnan(result.wilcoxon_p_holm)
    table = statistics_table(run, "digits")
    assert table is not None
    row = table.row("Acc", "tanh")
    assert row["t-test p"].text == "n/a"
    assert "all differences are zero" in row["Why n/a"].text


def test_epoch_time_tables(tmp_path: Path) -> None:
    values = write_run(tmp_path)
    run = load_run(tmp_path)
    table = epoch_time_table(run)
    row = table.row("digits")
    means = {}
    for activation in ACTIVATIONS:
        present = [
            v
            for v in fold_values(values, "digits", activation, "mean_epoch_time_s")
            if not math.isnan(v)
        ]
        means[activation] = float(np.mean(present))
        assert row[activation].value == pytest.approx(means[activation])
        shown = row[activation].text.split(" ")[0]
        assert len(shown.replace(".", "").lstrip("0")) == 4  # four significant digits
        assert float(shown) == pytest.approx(means[activation], rel=1e-3)
    fastest = min(means, key=means.get)
    assert [name for name in ACTIVATIONS if row[name].best] == [fastest]
    ratio = epoch_time_ratio_table(run)
    assert ratio is not None
    row = ratio.row("digits")
    for activation in ACTIVATIONS:
        assert row[activation].value == pytest.approx(means[activation] / means["relu"])
        assert row[activation].text == f"{means[activation] / means['relu']:.2f}"


def test_summary_rows_are_tidy_fractions(tmp_path: Path) -> None:
    values = write_run(tmp_path)
    rows = summary_rows(load_run(tmp_path))
    assert len(rows) == len(ACTIVATIONS) * (len(SPLITS) * len(METRICS) + 1)
    found = {(row["activation"], row["split"], row["metric"]): row for row in rows}
    tanh = found[("tanh", "test", "acc")]
    assert (tanh["n_values"], tanh["n_diverged"], tanh["n_missing"]) == (4, 1, 0)
    assert tanh["mean"] == pytest.approx(0.845)
    assert tanh["max"] == 0.86
    relu = found[("relu", "val", "f1")]
    present = fold_values(values, "digits", "relu", "val_f1")
    assert relu["std"] == pytest.approx(np.std(present, ddof=1))
    assert found[("dsrelu", "", "epoch_time_s")]["n_values"] == K


# --- protocol label, diverged and missing cells --------------------------------------


def _tables(run_dir: Path) -> list[Table]:
    run = load_run(run_dir)
    figures = {"slope": ("a.png", "a.pdf")}
    return [block for block in report_blocks(run, figures) if isinstance(block, Table)]


@pytest.mark.parametrize("select_on", ["held-out", "inner"])
def test_optimistic_label_in_every_table_title(tmp_path: Path, select_on: str) -> None:
    write_run(tmp_path, select_on=select_on)
    tables = _tables(tmp_path)
    assert len(tables) == 6  # folds, means, improvement, statistics, time, time ratio
    for table in tables:
        assert ("OPTIMISTIC" in table.title) == (select_on == "held-out"), table.title


def test_held_out_report_files_label_every_table(built: tuple[Path, dict], tmp_path: Path) -> None:
    write_run(tmp_path, select_on="held-out")
    report = build_report(tmp_path)
    markdown = (report / "report.md").read_text(encoding="utf-8")
    tex = (report / "tables.tex").read_text(encoding="utf-8")
    titles = re.findall(r"^\*\*(.+)\*\*$", markdown, flags=re.MULTILINE)
    captions = re.findall(r"\\caption\{(.+)\}", tex)
    assert len(titles) == len(captions) == 6
    assert all("OPTIMISTIC" in title for title in titles + captions)
    assert {row["select_on"] for row in _summary(report)} == {"held-out"}
    # The honest run's files carry no such label.
    honest = (built[0] / "report.md").read_text(encoding="utf-8")
    assert "OPTIMISTIC" not in honest


def test_diverged_and_missing_cells_are_words_never_numbers(built: tuple[Path, dict]) -> None:
    report, _ = built
    shown = f"{DIVERGED_VALUE * 100:.2f}"  # what the diverged row's numbers would read
    for name in ("report.md", "report.html", "tables.tex"):
        text = (report / name).read_text(encoding="utf-8")
        assert shown not in text, name
        assert "diverged" in text and "missing" in text, name
    markdown = (report / "report.md").read_text(encoding="utf-8")
    assert "| Test | Acc | 2 | 88.00 | *diverged* | **90.00** |" in markdown
    assert "| Test | Acc | 5 | **89.00** | 83.00 | *missing* |" in markdown
    assert "1 of 30 (dataset, activation, fold) cells have no result yet" in markdown


# --- the files ------------------------------------------------------------------------


def _summary(report: Path) -> list[dict[str, str]]:
    return read_csv_rows(report / "summary.csv")


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "img":
            self.sources.append(found.get("src") or "")
        for name in ("href", "src"):
            if found.get(name) and tag != "img":
                self.links.append(found[name] or "")


def test_report_files_are_written(built: tuple[Path, dict]) -> None:
    report, values = built
    assert report.name == "report"
    for name in ("report.md", "report.html", "tables.tex", "summary.csv"):
        assert (report / name).is_file(), name
    assert not [p for p in report.parent.iterdir() if p.name.startswith(".report")]
    markdown = (report / "report.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((figures/[^)]+)\)", markdown)
    expected = {
        f"figures/{stem}.{ext}"
        for stem in ("slope", "epoch-time", "curves-digits", "curves-mitbih")
        for ext in ("png", "pdf")
    }
    assert set(links) == expected
    for link in expected:
        data = (report / link).read_bytes()
        assert data.startswith(b"\x89PNG" if link.endswith(".png") else b"%PDF"), link

    tex = (report / "tables.tex").read_text(encoding="utf-8")
    assert tex.count(r"\begin{table}") == 10  # 4 per dataset, 2 for epoch time
    assert tex.count(r"\toprule") == tex.count(r"\bottomrule") == 10
    assert r"\textbf{" in tex and r"\textit{diverged}" in tex
    assert r"$\pm$" in tex and r"d\_z" in tex
    body = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
    assert re.search(r"(?<!\\)[_%#]", body) is None  # every special character escaped

    rows = _summary(report)
    tanh = next(
        row
        for row in rows
        if (row["dataset"], row["activation"], row["split"], row["metric"])
        == ("digits", "tanh", "test", "acc")
    )
    assert float(tanh["mean"]) == pytest.approx(0.845)
    assert (tanh["n_values"], tanh["n_diverged"]) == ("4", "1")


def test_html_page_is_self_contained_with_every_figure(built: tuple[Path, dict]) -> None:
    report, _ = built
    page = (report / "report.html").read_text(encoding="utf-8")
    parser = _Images()
    parser.feed(page)
    assert len(parser.sources) == 4  # slope, epoch time, curves of each dataset
    for source in parser.sources:
        prefix = "data:image/png;base64,"
        assert source.startswith(prefix)
        image = Image.open(io.BytesIO(base64.b64decode(source[len(prefix) :], validate=True)))
        image.verify()
        assert image.format == "PNG"
    assert parser.links == []  # no stylesheet, script or link to fetch
    assert page.count("<table") == 10


def test_html_long_text_cells_wrap(built: tuple[Path, dict]) -> None:
    """A long "Why n/a" reason wraps in its cell instead of pushing the table off the page."""
    report, _ = built
    page = (report / "report.html").read_text(encoding="utf-8")
    wrapped = re.findall(r'<td class="wrap">([^<]*)</td>', page)
    assert any("no spread" in text for text in wrapped)  # mitbih: relu vs dsrelu, Acc
    assert "num wrap" not in page  # numbers never wrap


_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "headless_shell")


def _chromium() -> str | None:
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


# Headless, offline and with a throwaway profile: the browser loads only the local page.
_CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
)
# Tall enough for the whole test page, so the screenshot holds every figure and the
# page lays out the same (no scroll bar) when probed and when shot.
_WINDOW = (1280, 12000)
# Appended to a copy of the page: once loaded, it writes where every image and table
# landed into the DOM, which --dump-dom prints.
_PROBE = """<script>
window.addEventListener("load", () => {
  const box = (e) => { const r = e.getBoundingClientRect();
    return {x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height}; };
  const out = {
    images: [...document.images].map((i) => ({...box(i), complete: i.complete,
      natural: [i.naturalWidth, i.naturalHeight]})),
    tables: [...document.querySelectorAll(".table-wrap")].map((w) =>
      ({id: w.querySelector("table").id, scroll: w.scrollWidth, client: w.clientWidth})),
    page: {width: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
      height: document.documentElement.scrollHeight},
  };
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""
_RED = np.array([0xD6, 0x27, 0x28])  # DSReLU's colour in every figure


def _run_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [
            str(_chromium()),
            *_CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={_WINDOW[0]},{_WINDOW[1]}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.mark.skipif(
    _chromium() is None, reason=f"no Chromium on PATH (looked for {', '.join(_CHROMIUM_NAMES)})"
)
def test_html_page_renders_in_headless_chromium(built: tuple[Path, dict], tmp_path: Path) -> None:
    """Chromium lays the page out with every figure shown whole and no table cut off."""
    report, _ = built
    page = (report / "report.html").read_text(encoding="utf-8")
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom = _run_chromium(
        tmp_path / "profile-probe",
        "--virtual-time-budget=3000",
        "--dump-dom",
        probe_page.as_uri(),
    ).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe script did not run"
    layout = json.loads(html.unescape(found.group(1)))

    width, height = layout["page"]["client"], layout["page"]["height"]
    assert width == _WINDOW[0] and height <= _WINDOW[1], layout["page"]
    assert layout["page"]["width"] <= width, "the page scrolls sideways"
    overflowing = [t["id"] for t in layout["tables"] if t["scroll"] > t["client"]]
    assert overflowing == [], f"tables wider than the page: {overflowing}"
    assert len(layout["tables"]) == 10
    images = layout["images"]
    assert len(images) == 4  # slope, epoch time, curves of each dataset
    for image in images:
        assert image["complete"] and min(image["natural"]) > 100, image
        assert image["w"] > 400 and image["h"] > 250, image  # shown, not a broken icon
        assert image["x"] >= 0 and image["x"] + image["w"] <= width, image

    shot = tmp_path / "page.png"
    _run_chromium(
        tmp_path / "profile-shot", f"--screenshot={shot}", (report / "report.html").as_uri()
    )
    with Image.open(shot) as screenshot:
        pixels = np.asarray(screenshot.convert("RGB"), dtype=np.int16)
    assert pixels.shape[:2] == (_WINDOW[1], _WINDOW[0])
    for image in images:
        x, y = round(image["x"]), round(image["y"])
        region = pixels[y : y + int(image["h"]), x : x + int(image["w"])]
        assert region.std() > 20, f"figure at y={y} renders blank"
        red = (np.abs(region - _RED).max(axis=2) <= 40).sum()
        assert red > 200, f"figure at y={y} shows no DSReLU red ({red} pixels)"


def test_rebuild_replaces_the_report_whole(tmp_path: Path) -> None:
    write_run(tmp_path, epochs=False)
    report = build_report(tmp_path)
    (report / "stale.txt").write_text("old", encoding="utf-8")
    assert build_report(tmp_path) == report
    assert not (report / "stale.txt").exists()
    assert "No learning curves: the run has no epochs.csv." in (report / "report.md").read_text(
        encoding="utf-8"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config.json",
        "folds.csv",
        "report",
    ]


def test_failed_build_keeps_the_previous_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_run(tmp_path, epochs=False)
    report = build_report(tmp_path)
    before = (report / "report.md").read_bytes()

    def broken(*args: object, **kwargs: object) -> str:
        raise OSError("disk full")

    monkeypatch.setattr("dsrelu.report.build.tables_to_latex", broken)
    with pytest.raises(ResultsError, match=r"report: cannot write the report \(disk full\)"):
        build_report(tmp_path)
    assert (report / "report.md").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report")]


def test_order_falls_back_to_the_files(tmp_path: Path) -> None:
    write_run(tmp_path, config={"activations": ["dsrelu"], "datasets": []})
    run = load_run(tmp_path)
    assert run.activations == ("dsrelu", "relu", "tanh")
    assert run.datasets == ("digits",)


def test_order_ignores_a_config_list_it_cannot_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_run(tmp_path, config={"activations": [{"name": "relu"}]})
    assert load_run(tmp_path).activations == ("relu", "tanh", "dsrelu")
    assert "field 'activations' is not a list of names" in caplog.text


# --- errors -------------------------------------------------------------------------


def _replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: shutil.rmtree(d), r"run: no such directory"),
        (lambda d: (d / "config.json").unlink(), r"config.json: no such file; is .* a dsrelu"),
        (lambda d: (d / "folds.csv").unlink(), r"folds.csv: no such file; is .* a dsrelu"),
        (
            lambda d: (d / "config.json").write_text("[1, 2]", encoding="utf-8"),
            r"config.json: expected a JSON object, got list",
        ),
        (
            lambda d: (d / "config.json").write_text(
                json.dumps({"select_on": "fold", "folds": 5}), encoding="utf-8"
            ),
            r"config.json: field 'select_on' must be 'inner' or 'held-out', got 'fold'",
        ),
        (
            lambda d: (d / "config.json").write_text(
                json.dumps({"select_on": "inner", "folds": "5"}), encoding="utf-8"
            ),
            r"config.json: field 'folds' must be a positive integer, got '5'",
        ),
        (
            lambda d: (d / "folds.csv").write_text("dataset,activation,fold\n", encoding="utf-8"),
            r"folds.csv: missing column\(s\) status, train_loss",
        ),
        (
            lambda d: _replace_in(d / "folds.csv", ",done,", ",running,"),
            r"folds.csv: line 2: column 'status': expected 'done' or 'diverged', got 'running'",
        ),
        (
            lambda d: _replace_in(d / "folds.csv", "digits,relu,1,", "digits,relu,9,"),
            r"folds.csv: line 2: column 'fold': expected 1..5 \(config 'folds'\), got 9",
        ),
        (
            lambda d: _replace_in(d / "folds.csv", "digits,relu,2,", "digits,relu,1,"),
            r"folds.csv: line 3: dataset 'digits', activation 'relu', fold 1 appears twice",
        ),
        (
            lambda d: _replace_in(d / "folds.csv", ",0.9,", ",high,"),
            r"folds.csv: line \d+: column 'test_acc': expected a number, got 'high'",
        ),
        (
            lambda d: _replace_in(d / "epochs.csv", "digits,relu,1,1,", "digits,relu,1,0,"),
            r"epochs.csv: line 2: column 'epoch': expected an integer >= 1, got '0'",
        ),
    ],
)
def test_damaged_or_foreign_directory_is_one_clear_error(
    tmp_path: Path, damage: Any, message: str
) -> None:
    run_dir = tmp_path / "run"
    write_run(run_dir)
    damage(run_dir)
    with pytest.raises(ResultsError, match=message) as caught:
        build_report(run_dir)
    assert "\n" not in str(caught.value)
    assert str(run_dir) in str(caught.value)
    assert not (run_dir / "report").exists()


def test_a_file_is_not_a_run_directory(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(ResultsError, match=r"notes.txt: not a directory"):
        build_report(path)


# --- curves and epoch-time figures ---------------------------------------------------


def test_figures_name_every_activation_even_one_with_nothing_to_draw(tmp_path: Path) -> None:
    write_run(tmp_path)
    rows = read_csv_rows(tmp_path / "folds.csv")
    for row in rows:
        if row["activation"] == "tanh":
            row["status"] = "diverged"
    write_csv_rows(tmp_path / "folds.csv", FOLD_COLUMNS, rows)
    run = load_run(tmp_path)

    curves = curves_figure(run, "digits")
    assert curves is not None
    (legend,) = curves.legends
    assert [text.get_text() for text in legend.get_texts()] == [
        "relu (5 folds)",
        "tanh (0 folds)",
        "dsrelu (5 folds)",
    ]
    assert [line.get_color() for line in legend.get_lines()][2] == "#d62728"
    for axes in curves.axes:
        ticks = [t for t in axes.get_xticks() if 1 <= t <= 3]
        assert ticks and all(float(t).is_integer() for t in ticks)  # whole epochs only

    bars = epoch_time_figure(run)
    (marks,) = [[t for t in axes.texts if t.get_text() == "n/a"] for axes in bars.axes]
    assert len(marks) == 1 and marks[0].get_rotation() == 0  # upright, off the axis line
    assert marks[0].get_position() == (1, 0.02)  # tanh's slot, in axes height


# --- the slope figure -----------------------------------------------------------------


@pytest.mark.parametrize(("name", "magic"), [("slope.png", b"\x89PNG"), ("s/slope.PDF", b"%PDF")])
def test_plot_slope_writes_png_or_pdf(tmp_path: Path, name: str, magic: bytes) -> None:
    written = plot_slope(tmp_path / name, ks=(2.0, 5.0))
    assert written == [tmp_path / name]
    assert written[0].read_bytes().startswith(magic)
    assert [p.name for p in written[0].parent.iterdir()] == [Path(name).name]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"out": "slope.jpg"}, r"figure file '.*slope.jpg': unsupported suffix '.jpg'"),
        ({"out": "slope"}, r"unsupported suffix ''; use one of .png, .pdf"),
        ({"ks": ()}, r"ks must hold at least one steepness value"),
        ({"ks": (5.0, -1.0)}, r"k must be a positive finite number, got -1.0"),
        ({"ks": (math.inf,)}, r"k must be a positive finite number, got inf"),
        ({"a": 0.0}, r"a must be a positive finite number, got 0.0"),
        ({"b": math.nan}, r"b must be a positive finite number, got nan"),
    ],
)
def test_plot_slope_rejects_bad_input(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    out = tmp_path / kwargs.pop("out", "slope.png")
    with pytest.raises(ConfigError, match=message):
        plot_slope(out, **kwargs)
    assert not out.exists()


# --- the command line -----------------------------------------------------------------


@pytest.fixture
def cli_main(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``dsrelu.cli.main``; a stand-in ``dsrelu.experiment`` while that one is unfinished.

    The parser asks ``dsrelu.experiment`` for the ``run`` arguments even when another
    command runs; ``report`` and ``slope`` need nothing else from it.
    """
    try:
        ready = hasattr(importlib.import_module("dsrelu.experiment"), "add_run_arguments")
    except ImportError:
        ready = False
    if not ready:
        stub = types.ModuleType("dsrelu.experiment")
        stub.add_run_arguments = lambda parser: None  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "dsrelu.experiment", stub)
    from dsrelu.cli import main

    return main


def test_cli_report_on_missing_directory_exits_2(
    tmp_path: Path, cli_main: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere"
    assert cli_main(["report", str(missing)]) == 2
    assert capsys.readouterr().err == f"dsrelu: error: {missing}: no such directory\n"


def test_cli_report_on_foreign_directory_exits_2(
    tmp_path: Path, cli_main: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert cli_main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"dsrelu: error: {tmp_path / 'config.json'}: no such file")


def test_cli_report_writes_the_report(
    tmp_path: Path, cli_main: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    write_run(tmp_path, epochs=False)
    assert cli_main(["report", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"report written to {tmp_path / 'report'}\n"


def test_cli_slope(tmp_path: Path, cli_main: Any, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "slope.pdf"
    assert cli_main(["slope", "--k", "1,5", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert cli_main(["slope", "--out", str(tmp_path / "slope.gif")]) == 2
    assert "unsupported suffix '.gif'" in capsys.readouterr().err
