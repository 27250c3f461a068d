"""A small spec for unit tests."""

SPEC = {
    "name": "toy",
    "target": "label",
    "entity_key": "entity_id",
    "features": {"numeric": ["x1", "x2"], "categorical": ["colour"]},
    "candidates": [{"name": "logistic_regression", "params": {"max_iter": 500}}],
    "search": {"cv_folds": 2},
}
