"""LightGBM and XGBoost (tree_method=hist) baselines for bench/train/run.ts.

Usage: python compare.py <dir with train.parquet and test.parquet> <num_trees> <num_leaves> <learning_rate> <threads,...>
Prints one JSON object per line: {"library", "threads", "train_seconds", "cpu_seconds", "test_auc", "peak_rss_mb"}
(peak_rss_mb is the process's peak so far, so only the first library's figure is its own).
Times include dataset construction (binning), as Keel's do.
"""
import json
import resource
import sys
import time

import lightgbm as lgb
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score

FEATURES = ["distance", "hour", "day_of_week", "origin", "destination"]
CATEGORICAL = ["origin", "destination"]


def load(path, categories=None):
    df = pd.read_parquet(path)
    for c in CATEGORICAL:
        values = df[c]
        if categories is not None:
            # Unseen test categories become missing, as in Keel.
            values = values.where(values.isin(categories[c]))
        df[c] = pd.Categorical(values, categories=None if categories is None else categories[c])
    return df


def lightgbm_params(num_leaves, lr, threads):
    """The bench's LightGBM settings (also bench/train/stage_lightgbm.py): Keel's tree shape, 255 bins, deterministic."""
    return {
        "objective": "binary",
        "num_leaves": num_leaves,
        "learning_rate": lr,
        "max_bin": 255,
        "min_data_in_leaf": 20,
        "num_threads": threads,
        "verbose": -1,
        "deterministic": True,
        "force_row_wise": True,
    }


def peak_rss_mb():
    """This process's peak resident set so far (Linux reports KiB): data loading included, as in Keel's figure."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    data_dir, num_trees, num_leaves, lr = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    threads = [int(t) for t in sys.argv[5].split(",")]
    train = load(f"{data_dir}/train.parquet")
    # Same category codes in test as in train (unseen categories become NaN = missing).
    test = load(f"{data_dir}/test.parquet", {c: train[c].cat.categories for c in CATEGORICAL})
    x_train, y_train = train[FEATURES], train["label"]
    x_test, y_test = test[FEATURES], test["label"]

    for n in threads:
        params = lightgbm_params(num_leaves, lr, n)
        start, cpu_start = time.perf_counter(), time.process_time()
        ds = lgb.Dataset(x_train, y_train, categorical_feature=CATEGORICAL, free_raw_data=False)
        booster = lgb.train(params, ds, num_boost_round=num_trees)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        auc = roc_auc_score(y_test, booster.predict(x_test))
        print(json.dumps({"library": f"lightgbm {lgb.__version__}", "threads": n, "train_seconds": seconds, "cpu_seconds": cpu, "test_auc": auc, "peak_rss_mb": peak_rss_mb()}), flush=True)

    for n in threads:
        params = {
            "objective": "binary:logistic",
            "tree_method": "hist",
            "grow_policy": "lossguide",
            "max_leaves": num_leaves,
            "max_depth": 0,
            "eta": lr,
            "max_bin": 255,
            "nthread": n,
            "max_cat_to_onehot": 4,
        }
        start, cpu_start = time.perf_counter(), time.process_time()
        dtrain = xgb.DMatrix(x_train, y_train, enable_categorical=True, nthread=n)
        booster = xgb.train(params, dtrain, num_boost_round=num_trees)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        dtest = xgb.DMatrix(x_test, enable_categorical=True, nthread=n)
        auc = roc_auc_score(y_test, booster.predict(dtest))
        print(json.dumps({"library": f"xgboost {xgb.__version__}", "threads": n, "train_seconds": seconds, "cpu_seconds": cpu, "test_auc": auc, "peak_rss_mb": peak_rss_mb()}), flush=True)


if __name__ == "__main__":
    main()
