"""The trainers this worker offers, each fitted on the run's train rows (early stopping on its valid rows where the
library has it), exported to ONNX with the preprocessing inside, and scored on the holdout rows by the library itself
(the parity reference Keel checks onnxruntime against)."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import onnx_contract
from .data import MISSING_CATEGORY, PART_HOLDOUT, PART_TRAIN, PART_VALID, RunRows

TRAINERS = ("lightgbm", "xgboost", "sklearn:HistGradientBoostingClassifier", "sklearn:logistic")


class TrainingRefused(Exception):
    """The spec or the data cannot be trained as asked (unknown trainer, bad parameter): no retry can help."""


@dataclass
class Trained:
    onnx: bytes
    #: The library's own predictions on the holdout rows: rows × width (width K for multiclass, else 1).
    holdout_rows: np.ndarray
    holdout_predictions: np.ndarray
    params: dict[str, Any]
    metrics: dict[str, float]
    best_iteration: int
    importance: dict[str, float]
    framework: dict[str, str]
    model: Any = field(default=None)


@dataclass
class RunData:
    task: str
    features: list[dict]
    label_classes: list[str] | None
    columns: dict[str, np.ndarray]
    rows: RunRows
    seed: int
    #: keel.snapshot_sha256 and keel.version, written into the ONNX metadata.
    metadata: dict[str, str]

    @property
    def class_count(self) -> int:
        return len(self.label_classes) if self.task == "multiclass" and self.label_classes else 2


def categories_of(data: RunData) -> dict[str, list[str]]:
    """Each categorical feature's categories: the values of its train rows, sorted; missing is not a category."""
    train = data.rows.indices(PART_TRAIN)
    out = {}
    for feature in data.features:
        if feature["kind"] == "categorical":
            values = set(data.columns[feature["name"]][train].tolist())
            values.discard(MISSING_CATEGORY)
            out[feature["name"]] = sorted(values)
    return out


def feature_matrix(data: RunData, categories: dict[str, list[str]]) -> np.ndarray:
    """Float64 matrix [rows, features]: numbers as they are, categories by index (unseen or missing: NaN)."""
    n = len(data.rows.part)
    matrix = np.empty((n, len(data.features)), dtype=np.float64)
    for index, feature in enumerate(data.features):
        column = data.columns[feature["name"]]
        if feature["kind"] == "numeric":
            matrix[:, index] = column
        else:
            code = {value: float(i) for i, value in enumerate(categories[feature["name"]])}
            matrix[:, index] = np.array([code.get(value, np.nan) for value in column.tolist()], dtype=np.float64)
    return matrix


def _labels(data: RunData, indices: np.ndarray) -> np.ndarray:
    y = data.rows.label[indices]
    return y.astype(np.int64) if data.task in ("binary", "multiclass") else y


def _check_classes(data: RunData, learned: np.ndarray) -> None:
    expected = list(range(data.class_count))
    if [int(c) for c in learned] != expected:
        raise TrainingRefused(f"the training rows hold classes {sorted(int(c) for c in learned)}; the run has classes {expected}: add rows")


def _valid_metrics(task: str, y: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score

    if len(y) == 0:
        return {}
    if task == "regression":
        return {"validRmse": float(np.sqrt(mean_squared_error(y, predictions)))}
    if task == "binary":
        metrics = {"validLogloss": float(log_loss(y, predictions, labels=[0, 1]))}
        if len(set(y.tolist())) == 2:
            metrics["validAuc"] = float(roc_auc_score(y, predictions))
        return metrics
    return {"validLogloss": float(log_loss(y, predictions, labels=list(range(predictions.shape[1]))))}


def _scores(task: str, model: Any, x: Any) -> np.ndarray:
    """Binary: P(label 1); multiclass: every class's probability; regression: the value."""
    if task == "regression":
        return np.asarray(model.predict(x), dtype=np.float64)
    probabilities = np.asarray(model.predict_proba(x), dtype=np.float64)
    return probabilities[:, 1] if task == "binary" else probabilities


def _construct(factory: Callable[..., Any], defaults: dict[str, Any], params: dict[str, Any]) -> Any:
    merged = {**defaults, **params}
    try:
        return factory(**merged), merged
    except TypeError as error:
        raise TrainingRefused(f"bad trainer parameters: {error}") from error


def _finish(data: RunData, model: Any, x: Any, core, prelude, categories, params, best_iteration, importance, framework) -> Trained:
    valid = data.rows.indices(PART_VALID)
    holdout = data.rows.indices(PART_HOLDOUT)
    classes = data.label_classes if data.task == "multiclass" else None
    onnx_bytes = onnx_contract.assemble(
        core,
        task=data.task,
        features=data.features,
        categories=categories,
        classes=classes,
        prelude=prelude,
        metadata=data.metadata,
    )
    holdout_predictions = _scores(data.task, model, x[holdout] if not hasattr(x, "iloc") else x.iloc[holdout])
    valid_predictions = _scores(data.task, model, x[valid] if not hasattr(x, "iloc") else x.iloc[valid])
    return Trained(
        onnx=onnx_bytes,
        holdout_rows=holdout,
        holdout_predictions=holdout_predictions.reshape(len(holdout), -1),
        params=params,
        metrics=_valid_metrics(data.task, _labels(data, valid), valid_predictions),
        best_iteration=int(best_iteration),
        importance=importance,
        framework=framework,
        model=model,
    )


def _named_importance(data: RunData, values: Any) -> dict[str, float]:
    values = np.asarray(values, dtype=np.float64)
    total = float(values.sum()) or 1.0
    return {feature["name"]: float(value) / total for feature, value in zip(data.features, values)}


def train_lightgbm(data: RunData, params: dict[str, Any]) -> Trained:
    import lightgbm
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    params = dict(params)
    stopping = int(params.pop("early_stopping_rounds", 20))
    factory = lightgbm.LGBMRegressor if data.task == "regression" else lightgbm.LGBMClassifier
    defaults = {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31, "random_state": data.seed, "n_jobs": 1, "verbose": -1, "deterministic": True}
    model, used = _construct(factory, defaults, params)
    categories = categories_of(data)
    x = feature_matrix(data, categories)
    train, valid = data.rows.indices(PART_TRAIN), data.rows.indices(PART_VALID)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x[train], _labels(data, train), eval_set=[(x[valid], _labels(data, valid))], callbacks=[lightgbm.early_stopping(stopping, verbose=False)])
    if data.task != "regression":
        _check_classes(data, model.classes_)
    core = onnxmltools.convert_lightgbm(model, initial_types=[("features", FloatTensorType([None, len(data.features)]))], zipmap=False, target_opset=15)
    best = model.best_iteration_ or model.n_estimators
    importance = _named_importance(data, model.booster_.feature_importance(importance_type="gain"))
    framework = {"name": "lightgbm", "version": lightgbm.__version__}
    trained = _finish(data, model, x, core, onnx_contract.matrix_prelude(data.features, categories, "features"), categories, {**used, "early_stopping_rounds": stopping}, best, importance, framework)
    trained.model = json.loads(json.dumps(model.booster_.dump_model(), default=str))
    return trained


def train_xgboost(data: RunData, params: dict[str, Any]) -> Trained:
    import onnxmltools
    import xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    params = dict(params)
    factory = xgboost.XGBRegressor if data.task == "regression" else xgboost.XGBClassifier
    defaults = {"n_estimators": 100, "learning_rate": 0.1, "max_depth": 6, "tree_method": "hist", "random_state": data.seed, "n_jobs": 1, "early_stopping_rounds": 20}
    model, used = _construct(factory, defaults, params)
    categories = categories_of(data)
    x = feature_matrix(data, categories)
    train, valid = data.rows.indices(PART_TRAIN), data.rows.indices(PART_VALID)
    model.fit(x[train], _labels(data, train), eval_set=[(x[valid], _labels(data, valid))], verbose=False)
    if data.task != "regression":
        _check_classes(data, model.classes_)
    core = onnxmltools.convert_xgboost(model, initial_types=[("features", FloatTensorType([None, len(data.features)]))], target_opset=15)
    best = (model.best_iteration + 1) if getattr(model, "best_iteration", None) is not None else model.n_estimators
    scores = model.get_booster().get_score(importance_type="gain")
    importance = _named_importance(data, [scores.get(f"f{i}", 0.0) for i in range(len(data.features))])
    framework = {"name": "xgboost", "version": xgboost.__version__}
    trained = _finish(data, model, x, core, onnx_contract.matrix_prelude(data.features, categories, "features"), categories, used, best, importance, framework)
    trained.model = json.loads(model.get_booster().save_raw("json").decode("utf8"))
    return trained


def train_hist_gradient_boosting(data: RunData, params: dict[str, Any]) -> Trained:
    import sklearn
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    factory = HistGradientBoostingRegressor if data.task == "regression" else HistGradientBoostingClassifier
    # Keel's valid rows stop nothing here: scikit-learn's early stopping draws its own validation rows.
    defaults = {"max_iter": 100, "learning_rate": 0.1, "random_state": data.seed, "early_stopping": False}
    model, used = _construct(factory, defaults, params)
    categories = categories_of(data)
    x = feature_matrix(data, categories)
    train = data.rows.indices(PART_TRAIN)
    model.fit(x[train], _labels(data, train))
    if data.task != "regression":
        _check_classes(data, model.classes_)
    options = {} if data.task == "regression" else {id(model): {"zipmap": False}}
    core = convert_sklearn(model, initial_types=[("features", FloatTensorType([None, len(data.features)]))], target_opset={"": 15, "ai.onnx.ml": 3}, options=options)
    framework = {"name": "scikit-learn", "version": sklearn.__version__}
    trained = _finish(data, model, x, core, onnx_contract.matrix_prelude(data.features, categories, "features"), categories, used, model.n_iter_, {}, framework)
    trained.model = {"estimator": type(model).__name__, "params": {k: repr(v) for k, v in model.get_params().items()}, "n_iter": int(model.n_iter_)}
    return trained


def train_logistic(data: RunData, params: dict[str, Any]) -> Trained:
    import pandas as pd
    import sklearn
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if data.task == "regression":
        raise TrainingRefused("sklearn:logistic trains binary and multiclass models; use lightgbm, xgboost or sklearn:HistGradientBoostingClassifier for regression")
    classifier, used = _construct(LogisticRegression, {"max_iter": 1000, "C": 1.0, "random_state": data.seed}, params)
    names = [f"f{i}" for i in range(len(data.features))]
    numeric = [name for name, feature in zip(names, data.features) if feature["kind"] == "numeric"]
    categorical = [name for name, feature in zip(names, data.features) if feature["kind"] == "categorical"]
    transformers = []
    if numeric:
        transformers.append(("numeric", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric))
    if categorical:
        transformers.append(("categorical", OneHotEncoder(handle_unknown="ignore"), categorical))
    model = Pipeline([("prepare", ColumnTransformer(transformers)), ("classify", classifier)])
    frame = pd.DataFrame(
        {
            name: (data.columns[feature["name"]].astype(np.float32) if feature["kind"] == "numeric" else data.columns[feature["name"]])
            for name, feature in zip(names, data.features)
        }
    )
    train = data.rows.indices(PART_TRAIN)
    try:
        model.fit(frame.iloc[train], _labels(data, train))
    except ValueError as error:
        raise TrainingRefused(f"scikit-learn refused the data: {error}") from error
    _check_classes(data, model.classes_)
    initial_types = [
        (name, FloatTensorType([None, 1]) if feature["kind"] == "numeric" else StringTensorType([None, 1])) for name, feature in zip(names, data.features)
    ]
    core = convert_sklearn(model, initial_types=initial_types, target_opset={"": 15, "ai.onnx.ml": 3}, options={id(classifier): {"zipmap": False}})
    coefficients = np.abs(classifier.coef_).sum(axis=0)
    feature_names = model.named_steps["prepare"].get_feature_names_out()
    importance: dict[str, float] = {}
    for output_name, weight in zip(feature_names, coefficients):
        column = output_name.split("__", 1)[1]
        source = column if column in names else column.rsplit("_", 1)[0]
        name = data.features[names.index(source)]["name"] if source in names else source
        importance[name] = importance.get(name, 0.0) + float(weight)
    framework = {"name": "scikit-learn", "version": sklearn.__version__}
    trained = _finish(data, model, frame, core, onnx_contract.column_prelude(data.features, names), categories_of(data), used, int(np.max(classifier.n_iter_)), importance, framework)
    trained.model = {"estimator": "ColumnTransformer+LogisticRegression", "coef": classifier.coef_.tolist(), "intercept": classifier.intercept_.tolist()}
    return trained


def train(name: str, data: RunData, params: dict[str, Any]) -> Trained:
    trainers = {
        "lightgbm": train_lightgbm,
        "xgboost": train_xgboost,
        "sklearn:HistGradientBoostingClassifier": train_hist_gradient_boosting,
        "sklearn:logistic": train_logistic,
    }
    if name not in trainers:
        raise TrainingRefused(f"unknown trainer {name!r}; this worker trains {', '.join(TRAINERS)}")
    return trainers[name](data, params)
