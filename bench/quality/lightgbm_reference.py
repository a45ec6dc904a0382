"""LightGBM with its default parameters, for bench/quality/run.ts.

Usage: python lightgbm_reference.py <meta.json>
meta.json: {"task", "categorical", "classes", "train", "test", "out"}; writes the test predictions to "out" as a
JSON list (binary: P(positive); regression: the value; multiclass: row-major probabilities in "classes" order).
"""
import json
import sys

import lightgbm as lgb
import pandas as pd


def load(path, categorical, categories=None):
    df = pd.read_parquet(path)
    for c in categorical:
        values = df[c]
        if categories is not None:
            # Unseen test categories become missing, as in Keel.
            values = values.where(values.isin(categories[c]))
        df[c] = pd.Categorical(values, categories=None if categories is None else categories[c])
    return df


def main():
    meta = json.load(open(sys.argv[1]))
    categorical = meta["categorical"]
    train = load(meta["train"], categorical)
    test = load(meta["test"], categorical, {c: train[c].cat.categories for c in categorical})
    # The same column order as Keel (sorted by name): equal gains, common on small data, go to the first feature in both.
    features = sorted(c for c in train.columns if c != "label")
    y_train = train["label"]
    if meta["task"] == "multiclass":
        y_train = y_train.map({name: i for i, name in enumerate(meta["classes"])})
        model = lgb.LGBMClassifier(objective="multiclass", verbose=-1, deterministic=True)
    elif meta["task"] == "binary":
        model = lgb.LGBMClassifier(objective="binary", verbose=-1, deterministic=True)
    else:
        model = lgb.LGBMRegressor(objective="regression", verbose=-1, deterministic=True)
    model.fit(train[features], y_train, categorical_feature=categorical or "auto")
    if meta["task"] == "regression":
        predictions = model.predict(test[features]).tolist()
    elif meta["task"] == "binary":
        predictions = model.predict_proba(test[features])[:, 1].tolist()
    else:
        predictions = model.predict_proba(test[features]).reshape(-1).tolist()
    json.dump(predictions, open(meta["out"], "w"))


if __name__ == "__main__":
    main()
