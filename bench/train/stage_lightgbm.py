"""LightGBM's Dataset construction + fit on the rows Keel's train stage trains on, for bench/train/stage.ts.

Usage: python stage_lightgbm.py <snapshot.parquet> <split codes file> <num_trees> <num_leaves> <learning_rate>
The codes file holds one byte per snapshot row (0 train, 1 valid, 2 holdout), as data/split-assignment.ts assigns
them. Prints one JSON object: {"library", "rows", "cpu_seconds", "wall_seconds", "peak_rss_mb"}; the times cover
Dataset construction (binning) + fit only, the peak RSS the whole process (reading the snapshot included).
"""
import json
import resource
import sys
import time

import lightgbm as lgb
import numpy as np
import pandas as pd

from compare import lightgbm_params

FEATURES = ["distance", "hour", "day_of_week", "origin", "destination"]
CATEGORICAL = ["origin", "destination"]


def main():
    snapshot, codes_file = sys.argv[1], sys.argv[2]
    num_trees, num_leaves, lr = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    data = pd.read_parquet(snapshot)
    codes = np.fromfile(codes_file, dtype=np.uint8)
    if len(codes) != len(data):
        raise SystemExit(f"{len(codes)} split codes for {len(data)} snapshot rows")
    train = data[codes == 0].reset_index(drop=True)
    del data
    for c in CATEGORICAL:
        train[c] = pd.Categorical(train[c])
    x, y = train[FEATURES], train["delayed"].astype(np.float64)
    params = lightgbm_params(num_leaves, lr, 1)
    start, cpu_start = time.perf_counter(), time.process_time()
    ds = lgb.Dataset(x, y, categorical_feature=CATEGORICAL, free_raw_data=False)
    lgb.train(params, ds, num_boost_round=num_trees)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"library": f"lightgbm {lgb.__version__}", "rows": len(train), "cpu_seconds": cpu, "wall_seconds": wall, "peak_rss_mb": peak}), flush=True)


if __name__ == "__main__":
    main()
