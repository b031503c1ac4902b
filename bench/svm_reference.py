#!/usr/bin/env python3
"""The SVM baseline in scikit-learn, on a feature table written by the svm stage or svm-compare.ts.

    python3 bench/svm_reference.py table.csv '{"C": [...], "gamma": [...], "kernels": ["rbf", "linear"]}'

The table (table.csv of the svm stage) holds per event: id, recording, label, split (train | test),
fold (0..k-1 for training rows), the features, and our prediction. We use its split and folds as
they are (PredefinedSplit), standardise inside each fold (a StandardScaler + SVC pipeline, fitted on
the training folds only), grid-search SVC with the same grid in the same order, refit the best on
all training rows and score the test rows. Prints JSON on stdout.
"""
import csv
import json
import sys
import time

import numpy as np
import sklearn
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

NOT_FEATURES = {"id", "recording", "label", "split", "fold", "predicted"}


def main(table_path, grid_json):
    grid_spec = json.loads(grid_json)
    with open(table_path, newline="") as f:
        reader = csv.DictReader(f)
        features = [c for c in reader.fieldnames if c not in NOT_FEATURES]
        rows = list(reader)
    train = [r for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    x = np.array([[float(r[c]) for c in features] for r in train])
    y = np.array([int(r["label"]) for r in train])
    folds = np.array([int(r["fold"]) for r in train])
    x_test = np.array([[float(r[c]) for c in features] for r in test])
    y_test = np.array([int(r["label"]) for r in test])

    # One dict per grid point keeps our order: RBF by C then gamma, then linear by C.
    grid = []
    if "rbf" in grid_spec["kernels"]:
        grid += [{"svc__kernel": ["rbf"], "svc__C": [c], "svc__gamma": [g]} for c in grid_spec["C"] for g in grid_spec["gamma"]]
    if "linear" in grid_spec["kernels"]:
        grid += [{"svc__kernel": ["linear"], "svc__C": [c]} for c in grid_spec["C"]]
    search = GridSearchCV(make_pipeline(StandardScaler(), SVC()), grid, cv=PredefinedSplit(folds), scoring="accuracy", refit=True)
    start = time.perf_counter()
    search.fit(x, y)
    predicted = search.predict(x_test)
    seconds = time.perf_counter() - start

    k = int(folds.max()) + 1
    res = search.cv_results_
    out_grid = []
    for i, params in enumerate(res["params"]):
        out_grid.append({
            "kernel": params["svc__kernel"],
            "C": params["svc__C"],
            "gamma": params.get("svc__gamma"),
            "cv_mean": float(res["mean_test_score"][i]),
            "cv_sd": float(res["std_test_score"][i]),
            "folds": [float(res[f"split{j}_test_score"][i]) for j in range(k)],
        })
    best = search.best_params_
    print(json.dumps({
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "grid": out_grid,
        "best": {"kernel": best["svc__kernel"], "C": best["svc__C"], "gamma": best.get("svc__gamma"), "cv_mean": float(search.best_score_)},
        "test": {"events": int(len(y_test)), "correct": int((predicted == y_test).sum()), "accuracy": float((predicted == y_test).mean())},
        "predicted": [int(p) for p in predicted],
        "ids": [r["id"] for r in test],
        "seconds": seconds,
    }))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
