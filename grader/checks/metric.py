"""``metric``: recompute a metric from the predictions a student submits, against labels the TA holds.

Fields: ``predictions`` (file-name patterns of the student's CSV: ``id,prediction``, header optional),
``labels`` (the TA's CSV ``id,label``, relative to the rubric, or found by name in ``--data DIR``),
``metric`` (mcc | accuracy | f1 | macro_f1, from ``scores``), ``threshold`` (full marks at or
above) and ``zero_at`` (optional: credit grows linearly from there to the threshold).  Missing ids,
duplicate ids and unknown labels are errors that say which, never silent zeros.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path, PurePosixPath

from ..faults import GraderFault
from ..rubric import FieldError
from ..submission import find_file
from . import calling, scores
from .base import Check, CheckContext, Verdict

FIELDS = {"predictions", "labels", "metric", "threshold", "zero_at"}
# names in ``scores``
METRICS = {"mcc": "matthews_corrcoef", "accuracy": "accuracy", "f1": "f1", "macro_f1": "macro_f1"}
MAX_CSV_BYTES = 64 * 2**20


class MetricError(Exception):
    pass


def read_pairs(text: str, what: str) -> dict[str, str]:
    """``id,value`` rows (a header row is skipped); duplicate ids are an error naming them."""
    pairs: dict[str, str] = {}
    duplicates = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not row[0].strip():
            continue
        if len(row) < 2:
            raise MetricError(f"{what}, line {number}: expected 'id,value'")
        key, value = row[0].strip(), row[1].strip()
        if number == 1 and key.lower() in ("id", "index", "idx", "sentence_id"):
            continue
        if key in pairs:
            duplicates.append(key)
        pairs[key] = value
    if duplicates:
        raise MetricError(f"{what} has duplicate ids: {', '.join(duplicates[:5])}"
                          + (f" and {len(duplicates) - 5} more" if len(duplicates) > 5 else ""))
    return pairs


class MetricCheck(Check):
    kind = "metric"
    needs_notebook = False

    @classmethod
    def configure(cls, table: dict, rubric) -> dict:
        calling.reject_unknown(table, FIELDS)
        patterns = table.get("predictions")
        if isinstance(patterns, str):
            patterns = [patterns]
        if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) for p in patterns):
            raise FieldError("predictions", "must list file-name patterns such as 'predictions*.csv'")
        if not isinstance(table.get("labels"), str):
            raise FieldError("labels", "must name the TA's labels file (relative to the rubric, or found in --data)")
        metric = table.get("metric", "accuracy")
        if metric not in METRICS:
            raise FieldError("metric", f"must be one of {', '.join(METRICS)}")
        threshold, zero_at = table.get("threshold"), table.get("zero_at")
        if not isinstance(threshold, (int, float)):
            raise FieldError("threshold", "must be the value that earns full marks")
        if zero_at is not None and (not isinstance(zero_at, (int, float)) or zero_at >= threshold):
            raise FieldError("zero_at", "must be a number below the threshold")
        return {"patterns": tuple(patterns), "labels": table["labels"], "metric": metric,
                "threshold": float(threshold), "zero_at": None if zero_at is None else float(zero_at),
                "rubric_folder": rubric.folder}

    def run(self, context: CheckContext) -> Verdict:
        config = context.item.config
        try:
            labels = read_pairs(_labels_path(config, context.data_dir).read_text(encoding="utf-8"), "the labels file")
        except (OSError, MetricError) as exc:  # the TA's side: a fault of the grading, never the student's score
            raise GraderFault(f"the labels of {context.item.id} cannot be read: {exc}",
                              "pass --data DIR with the labels file, or put it where the rubric's `labels` says") from exc
        if context.workspace is None:
            return Verdict(0.0, "error", "no submission files to read predictions from")
        chosen, _ = find_file(context.files, config["patterns"])
        if chosen is None:
            return Verdict(0.0, "error", f"no predictions file matching {' or '.join(config['patterns'])} "
                                         f"(found: {', '.join(context.files[:10]) or 'no files'})")
        path = context.workspace.joinpath(*PurePosixPath(chosen).parts)
        if path.stat().st_size > MAX_CSV_BYTES:
            return Verdict(0.0, "error", f"{chosen} is larger than {MAX_CSV_BYTES // 2**20} MiB")
        try:
            predictions = read_pairs(path.read_bytes().decode("utf-8", errors="replace"), chosen)
            value = _score(config, labels, predictions, chosen)
        except MetricError as exc:
            return Verdict(0.0, "error", str(exc))
        fraction = _credit(value, config["threshold"], config["zero_at"])
        details = {"metric": config["metric"], "value": value, "threshold": config["threshold"], "file": chosen}
        name = config["metric"].upper() if config["metric"] == "mcc" else config["metric"]
        if fraction == 1:
            return Verdict(1.0, "passed", f"{name} = {value:.4f} ≥ {config['threshold']:g}", details)
        status = "partial" if fraction > 0 else "failed"
        return Verdict(fraction, status, f"{name} = {value:.4f}, below the {config['threshold']:g} that earns full marks",
                       details)


def missing_labels(config: dict, data_dir: Path | None) -> str | None:
    """Why the TA's labels are not at hand, or None when they are."""
    if _labels_path(config, data_dir).is_file():
        return None
    return f"the labels file {config['labels']} is neither in --data nor beside the rubric"


def _labels_path(config: dict, data_dir: Path | None) -> Path:
    name = config["labels"]
    if data_dir is not None and (data_dir / Path(name).name).is_file():
        return data_dir / Path(name).name
    return config["rubric_folder"] / name


def _score(config: dict, labels: dict, predictions: dict, file_name: str) -> float:
    missing = [key for key in labels if key not in predictions]
    if missing:
        raise MetricError(f"{file_name} has no prediction for {len(missing)} id(s): {', '.join(missing[:5])}")
    extra = [key for key in predictions if key not in labels]
    if extra:
        raise MetricError(f"{file_name} predicts {len(extra)} id(s) that are not in the evaluation set: "
                          f"{', '.join(extra[:5])}")
    known = set(labels.values())
    unknown = sorted({value for value in predictions.values() if value not in known})
    if unknown:
        raise MetricError(f"{file_name} uses labels that do not exist: {', '.join(unknown[:5])} "
                          f"(the labels are {', '.join(sorted(known))})")
    keys = list(labels)
    y_true, y_pred = [labels[k] for k in keys], [predictions[k] for k in keys]
    if config["metric"] == "f1":
        positive = "1" if "1" in known else sorted(known)[-1]
        return scores.f1(y_true, y_pred, positive)
    return float(getattr(scores, METRICS[config["metric"]])(y_true, y_pred))


def _credit(value: float, threshold: float, zero_at: float | None) -> float:
    if value >= threshold:
        return 1.0
    if zero_at is None or value <= zero_at:
        return 0.0
    return (value - zero_at) / (threshold - zero_at)
