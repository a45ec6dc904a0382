"""A small snapshot in a scratch artifact store, shaped like Keel's: numbers with gaps, integers, booleans, dates and
text with gaps; plus the run's rows file (part, label) the way Keel's prepareExternalTraining writes it."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from keel_trainer.artifact_store import FsArtifactStore

ROWS = 1500


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@pytest.fixture()
def store(tmp_path) -> FsArtifactStore:
    return FsArtifactStore(tmp_path / "artifacts")


@pytest.fixture()
def snapshot(store):
    rng = np.random.default_rng(7)
    x1 = rng.normal(size=ROWS).round(2)
    x2 = rng.integers(0, 50, size=ROWS)
    flag = rng.random(ROWS) < 0.4
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 365, size=ROWS)]
    color = rng.choice(["red", "green", "blue"], size=ROWS)
    x1_missing = rng.random(ROWS) < 0.05
    color_missing = rng.random(ROWS) < 0.05
    score = x1 * 1.5 + (color == "red") * 1.0 - flag * 0.5 + x2 / 50 + rng.normal(size=ROWS) * 0.5
    table = pa.table(
        {
            "x1": pa.array([None if m else float(v) for v, m in zip(x1, x1_missing)], type=pa.float64()),
            "x2": pa.array(x2, type=pa.int64()),
            "flag": pa.array(flag, type=pa.bool_()),
            "day": pa.array(days, type=pa.date32()),
            "color": pa.array([None if m else str(v) for v, m in zip(color, color_missing)], type=pa.string()),
            "target": pa.array(score, type=pa.float64()),
        }
    )
    stored = store.put_bytes(parquet_bytes(table), ".parquet")
    parts = rng.choice([0, 1, 2], size=ROWS, p=[0.7, 0.1, 0.2]).astype(np.uint8)
    features = [
        {"name": "x1", "kind": "numeric", "sourceType": "DOUBLE"},
        {"name": "x2", "kind": "numeric", "sourceType": "BIGINT"},
        {"name": "flag", "kind": "numeric", "sourceType": "BOOLEAN"},
        {"name": "day", "kind": "numeric", "sourceType": "DATE"},
        {"name": "color", "kind": "categorical", "sourceType": "VARCHAR"},
    ]
    return {"sha256": stored.sha256, "uri": stored.uri, "table": table, "parts": parts, "score": score, "features": features}


def rows_artifact(store: FsArtifactStore, parts: np.ndarray, labels: np.ndarray) -> dict:
    table = pa.table({"part": pa.array(parts, type=pa.uint8()), "label": pa.array(labels.astype(np.float64), type=pa.float64())})
    stored = store.put_bytes(parquet_bytes(table), ".parquet")
    return {"sha256": stored.sha256, "uri": stored.uri}


def request_for(store, snapshot, task: str, trainer: str, params: dict | None = None) -> dict:
    score = snapshot["score"]
    if task == "binary":
        labels, classes = (score > 0.3).astype(np.float64), None
    elif task == "multiclass":
        labels, classes = np.digitize(score, [-0.5, 0.8]).astype(np.float64), ["high", "low", "mid"]
    else:
        labels, classes = score, None
    return {
        "contractVersion": 1,
        "runId": "run-1",
        "model": "m",
        "task": task,
        "target": "target",
        "trainer": {"name": trainer, "params": params or {}},
        "seed": 42,
        "snapshot": {"sha256": snapshot["sha256"], "uri": snapshot["uri"], "rowCount": ROWS},
        "features": snapshot["features"],
        "labelClasses": classes,
        "rows": rows_artifact(store, snapshot["parts"], labels),
    }
