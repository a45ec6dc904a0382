"""Each trainer's answer honours the contract: artifacts in the store under their sha256, an ONNX graph with Keel's
inputs, outputs and metadata that onnxruntime runs on raw values (text and missing values included), and the
library's own holdout predictions that the graph reproduces within Keel's external parity tolerance (1e-5)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pyarrow.parquet as pq
import pytest
from temporalio.exceptions import ApplicationError

from keel_trainer.activity import run_training
from keel_trainer.data import MISSING_CATEGORY, numeric_column

from .conftest import request_for

PARITY_TOLERANCE = 1e-5

CASES = [
    ("lightgbm", "binary"),
    ("lightgbm", "regression"),
    ("lightgbm", "multiclass"),
    ("xgboost", "binary"),
    ("xgboost", "regression"),
    ("sklearn:HistGradientBoostingClassifier", "binary"),
    ("sklearn:HistGradientBoostingClassifier", "multiclass"),
    ("sklearn:logistic", "binary"),
    ("sklearn:logistic", "multiclass"),
]


def keel_feeds(snapshot, rows: np.ndarray) -> dict[str, np.ndarray]:
    """What Keel's serving feeds the graph: doubles (NaN for missing) and strings (the missing token for null)."""
    feeds = {}
    for feature in snapshot["features"]:
        column = snapshot["table"].column(feature["name"])
        if feature["kind"] == "numeric":
            feeds[feature["name"]] = numeric_column(column)[rows].reshape(-1, 1)
        else:
            values = [MISSING_CATEGORY if v is None else v for v in column.to_pylist()]
            feeds[feature["name"]] = np.array(values, dtype=object)[rows].reshape(-1, 1)
    return feeds


@pytest.mark.parametrize(("trainer", "task"), CASES)
def test_answer_honours_the_training_contract(store, snapshot, trainer, task):
    request = request_for(store, snapshot, task, trainer)
    answer = run_training(store, request)

    assert answer["contractVersion"] == 1
    for key in ("onnx", "modelJson", "holdoutPredictions"):
        assert store.local_path(answer[key]["sha256"]).exists()
    parts = snapshot["parts"]
    assert (answer["trainRows"], answer["validRows"], answer["holdoutRows"]) == tuple(int((parts == p).sum()) for p in (0, 1, 2))
    assert json.loads(store.local_path(answer["modelJson"]["sha256"]).read_bytes())["kind"] == "external"

    model = onnx.load(str(store.local_path(answer["onnx"]["sha256"])))
    metadata = {prop.key: prop.value for prop in model.metadata_props}
    assert metadata["keel.task"] == task
    assert metadata["keel.model_kind"] == "external"
    assert metadata["keel.snapshot_sha256"] == snapshot["sha256"]
    schema = json.loads(metadata["keel.features"])
    assert [(f["name"], f["kind"]) for f in schema] == [(f["name"], f["kind"]) for f in snapshot["features"]]
    assert schema[-1]["categories"] == ["blue", "green", "red"]
    assert {i.name: i.type.tensor_type.elem_type for i in model.graph.input} == {
        "x1": onnx.TensorProto.DOUBLE,
        "x2": onnx.TensorProto.DOUBLE,
        "flag": onnx.TensorProto.DOUBLE,
        "day": onnx.TensorProto.DOUBLE,
        "color": onnx.TensorProto.STRING,
    }

    predictions = pq.read_table(store.local_path(answer["holdoutPredictions"]["sha256"]))
    rows = predictions.column("row").to_numpy()
    assert sorted(rows.tolist()) == np.flatnonzero(parts == 2).tolist()
    session = ort.InferenceSession(model.SerializeToString())
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, keel_feeds(snapshot, rows))))
    if task == "binary":
        assert set(outputs) == {"label", "probability"}
        reference = predictions.column("prediction").to_numpy()
        assert outputs["probability"].dtype == np.float64 and outputs["probability"].shape == (len(rows), 1)
        assert np.array_equal(outputs["label"][:, 0], (outputs["probability"][:, 0] >= 0.5).astype(np.int64))
        got = outputs["probability"][:, 0]
    elif task == "regression":
        assert set(outputs) == {"value"}
        reference = predictions.column("prediction").to_numpy()
        got = outputs["value"][:, 0]
    else:
        assert set(outputs) == {"label", "probabilities"}
        assert json.loads(metadata["keel.classes"]) == ["high", "low", "mid"]
        reference = np.array(predictions.column("prediction").to_pylist())
        got = outputs["probabilities"]
        assert list(outputs["label"][:3]) == [["high", "low", "mid"][i] for i in np.argmax(got[:3], axis=1)]
    tolerance = PARITY_TOLERANCE * max(1.0, float(np.abs(reference).max())) if task == "regression" else PARITY_TOLERANCE
    assert np.abs(got - reference).max() <= tolerance


def test_an_unknown_trainer_is_refused_for_good(store, snapshot):
    with pytest.raises(ApplicationError) as refused:
        run_training(store, request_for(store, snapshot, "binary", "catboost"))
    assert refused.value.non_retryable and refused.value.type == "TRAINING_FAILED"
    assert "unknown trainer 'catboost'" in str(refused.value)


def test_bad_parameters_are_refused_for_good(store, snapshot):
    with pytest.raises(ApplicationError) as refused:
        run_training(store, request_for(store, snapshot, "binary", "sklearn:logistic", {"no_such_param": 1}))
    assert refused.value.non_retryable and "bad trainer parameters" in str(refused.value)


def test_another_contract_version_is_refused(store, snapshot):
    request = {**request_for(store, snapshot, "binary", "lightgbm"), "contractVersion": 2}
    with pytest.raises(ApplicationError, match="contract version 2"):
        run_training(store, request)
