"""Train the e2e test's tiny scikit-learn model and save it where MLServer's SKLearnModel looks (model.joblib).

Run with the MLServer tool venv's python (.tools/mlserver/bin/python), so the pickle matches the serving
scikit-learn exactly: `python train.py OUT_DIR`.
"""

import sys
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def main(out_dir: str) -> None:
    features, labels = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(features, labels)
    assert model.score(features, labels) > 0.9, "the iris model should fit its training data"
    joblib.dump(model, Path(out_dir) / "model.joblib")


if __name__ == "__main__":
    main(sys.argv[1])
