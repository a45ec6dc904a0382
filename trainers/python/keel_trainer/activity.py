"""The `trainModel` activity of Keel's training contract (docs/training-contract.md)."""

from __future__ import annotations

import asyncio
import io
import json
import os
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from temporalio import activity
from temporalio.exceptions import ApplicationError

from . import __version__
from .artifact_store import ArtifactCorrupt, ArtifactNotFound, FsArtifactStore
from .data import PART_HOLDOUT, PART_TRAIN, PART_VALID, read_features, read_rows
from .trainers import RunData, Trained, TrainingRefused, train

CONTRACT_VERSION = 1
#: Heartbeats while the (blocking) training runs in a thread; Keel's default heartbeat timeout is a minute.
HEARTBEAT_SECONDS = 5.0


def refuse(message: str) -> ApplicationError:
    """A refusal no retry can fix: Keel ends the run `failed` with this message."""
    return ApplicationError(message, type="TRAINING_FAILED", non_retryable=True)


def predictions_parquet(trained: Trained) -> bytes:
    rows = pa.array(trained.holdout_rows.astype("int64"), type=pa.int64())
    if trained.holdout_predictions.shape[1] == 1:
        prediction = pa.array(trained.holdout_predictions[:, 0].astype("float64"), type=pa.float64())
    else:
        prediction = pa.array([list(map(float, row)) for row in trained.holdout_predictions], type=pa.list_(pa.float64()))
    sink = io.BytesIO()
    pq.write_table(pa.table({"row": rows, "prediction": prediction}), sink)
    return sink.getvalue()


def run_training(store: FsArtifactStore, request: dict[str, Any]) -> dict[str, Any]:
    """Blocking: reads the snapshot and rows, trains, and writes the three artifacts. Returns the contract's answer."""
    if request.get("contractVersion") != CONTRACT_VERSION:
        raise refuse(f"training contract version {request.get('contractVersion')!r}; this worker speaks version {CONTRACT_VERSION}")
    try:
        snapshot = store.local_path(request["snapshot"]["sha256"])
        rows_path = store.local_path(request["rows"]["sha256"])
    except (ArtifactNotFound, ArtifactCorrupt) as error:
        raise refuse(str(error)) from error
    rows = read_rows(str(rows_path))
    features = request["features"]
    data = RunData(
        task=request["task"],
        features=features,
        label_classes=request.get("labelClasses"),
        columns=read_features(str(snapshot), features),
        rows=rows,
        seed=int(request["seed"]) % (2**31),
        metadata={
            "keel.snapshot_sha256": request["snapshot"]["sha256"],
            "keel.version": f"keel-trainers-python {__version__}",
            "keel.trainer": request["trainer"]["name"],
        },
    )
    params = dict(request["trainer"].get("params") or {})
    # The run's seed arrives as `seed` (a spec's params.seed set it); the libraries take it as random_state.
    params.pop("seed", None)
    try:
        trained = train(request["trainer"]["name"], data, params)
    except TrainingRefused as error:
        raise refuse(str(error)) from error
    onnx = store.put_bytes(trained.onnx, ".onnx")
    model_json = store.put_bytes(
        json.dumps({"kind": "external", "trainer": request["trainer"]["name"], "framework": trained.framework, "model": trained.model}, default=str).encode("utf8"),
        ".json",
    )
    predictions = store.put_bytes(predictions_parquet(trained), ".parquet")
    return {
        "contractVersion": CONTRACT_VERSION,
        "onnx": {"sha256": onnx.sha256, "uri": onnx.uri},
        "modelJson": {"sha256": model_json.sha256, "uri": model_json.uri},
        "holdoutPredictions": {"sha256": predictions.sha256, "uri": predictions.uri},
        "params": json.loads(json.dumps(trained.params, default=str)),
        "metrics": trained.metrics,
        "bestIteration": trained.best_iteration,
        "importance": trained.importance,
        "trainRows": int((rows.part == PART_TRAIN).sum()),
        "validRows": int((rows.part == PART_VALID).sum()),
        "holdoutRows": int((rows.part == PART_HOLDOUT).sum()),
        "framework": trained.framework,
    }


class TrainerActivities:
    def __init__(self, store: FsArtifactStore):
        self.store = store

    @activity.defn(name="trainModel")
    async def train_model(self, request: dict[str, Any]) -> dict[str, Any]:
        activity.logger.info("training %s for run %s", request.get("trainer", {}).get("name"), request.get("runId"))
        work = asyncio.ensure_future(asyncio.to_thread(run_training, self.store, request))
        while True:
            done, _ = await asyncio.wait({work}, timeout=HEARTBEAT_SECONDS)
            if done:
                return work.result()
            activity.heartbeat({"phase": "training", "pid": os.getpid()})
