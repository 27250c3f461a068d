"""The description of every column of the public tables, one place for the YAML that dbt reads.

``mlmodels new`` writes these into each model's generated YAML (``columns:``), and the package's
``mlmodels/dbt/models/_mlmodels.yml`` holds the same text for the shared tables (a unit test keeps
the two equal). dbt persists them as warehouse comments where the adapter can (DuckDB), and
``dbt docs`` shows them. ``{model}``, ``{key}``, ``{as_of}`` and ``{target}`` are the spec's model
name, entity key, as_of (or ``snapshot_date``) column and target.

Longer than 500 lines because it is data, not logic: one description per column of every public
table, kept in one file so that one name means one thing across the tables.
"""

from __future__ import annotations

import json
import re

MODEL_NAME = "The ML model: the name of its spec, ml/<model_name>.yml."
MODEL_VERSION = ("The registered version: a content hash of the spec, the training data and the "
                 "code versions (ml_model_registry.model_version).")

# The columns every version's training record carries: ml_model_registry and ml_<model>__train.
REGISTRY: dict[str, str] = {
    "model_name": MODEL_NAME,
    "model_version": MODEL_VERSION,
    "status": ("The version's standing now: champion (scores and is the one acted on), "
               "challenger (scores beside it, role challenger in the scores), retired (a former "
               "champion) or rejected (missed the success criterion, the rule or a constraint)."),
    "reason": "Why the version has its status (the promotion rule's words).",
    "trained_at": "When the version was trained (UTC).",
    "promoted_at": "When the version last became champion (UTC); null if it never was.",
    "task": "binary_classification or regression.",
    "spec_hash": "The fingerprint of the spec's fields that shape a version (ModelSpec.fingerprint).",
    "split_strategy": "How rows were split: time (by as_of, with an embargo) or stratified / random "
                      "(snapshot data).",
    "estimator": "The selected candidate's estimator name.",
    "params": "The selected candidate's parameters, as JSON.",
    "numeric_features": "The numeric feature columns, comma-separated.",
    "categorical_features": "The categorical feature columns, comma-separated.",
    "train_from": "First as_of of the train split.",
    "train_to": "Last as_of of the train split.",
    "train_rows": "Rows in the train split.",
    "valid_from": "First as_of of the valid split.",
    "valid_to": "Last as_of of the valid split.",
    "valid_rows": "Rows in the valid split.",
    "test_from": "First as_of of the test split.",
    "test_to": "Last as_of of the test split.",
    "test_rows": "Rows in the test split.",
    "fit_rows": "Rows the deployed Pipeline was fitted on (deploy.refit: all refits on every "
                "labelled row).",
    "fit_from": "First as_of the deployed Pipeline was fitted on.",
    "fit_to": "Last as_of the deployed Pipeline was fitted on; it scores only after this.",
    "selection_metric": "The metric candidates were compared by (spec selection_metric).",
    "train_score": "The selection metric on train (the model fitted on train).",
    "valid_score": "The selection metric on valid.",
    "test_score": "The selection metric on test, scored once after every choice was made.",
    "train_valid_gap": "train_score minus valid_score, signed so that positive is worse on valid "
                       "(the overfitting signal).",
    "baseline_prior_test_score": "The selection metric on test of a constant prediction (the "
                                 "train base rate or mean).",
    "baseline_linear_test_score": "The selection metric on test of a plain linear model.",
    "baseline_rule_test_score": "The selection metric on test of the spec's rule_baseline (null "
                                "without one).",
    "lift_over_prior": "test_score against the prior baseline; positive: better.",
    "lift_over_linear": "test_score against the plain linear model; positive: better.",
    "threshold": "The deployed model's decision threshold: rows with score >= threshold are "
                 "predicted positive (null for regression).",
    "success_metric": "The spec's problem.success metric.",
    "success_target": "The value problem.success asks for on test.",
    "success_value": "The success metric's value on test.",
    "met_criterion": "Whether success_value reaches success_target.",
    "beat_rule": "Whether the version beats the spec's rule_baseline on test.",
    "meets_constraints": "Whether latency and artifact size are within problem.constraints.",
    "latency_ms_per_1000": "Scoring time per 1,000 rows, in milliseconds.",
    "artifact_mb": "The artifact's size, in MB.",
    "artifact_uri": "Where the deployed Pipeline's artifact is stored.",
    "artifact_sha256": "The artifact's sha256, checked before it is loaded.",
    "artifact_signature": "The artifact's HMAC signature (key kept outside the warehouse), checked "
                          "before it is unpickled.",
    "deploy_refit": "all (refitted on every labelled row for deployment) or train (the evaluated "
                    "Pipeline is deployed).",
    "evaluated_threshold": "The threshold the spec's policy chose on valid for the model fitted on "
                           "train (ml_evaluation__thresholds, is_chosen).",
    "evaluated_artifact_uri": "The evaluated Pipeline's artifact (fitted on train).",
    "evaluated_artifact_sha256": "The evaluated artifact's sha256.",
    "evaluated_artifact_signature": "The evaluated artifact's HMAC signature.",
    "python_version": "Python version at training.",
    "sklearn_version": "scikit-learn version at training; scoring refuses another.",
    "numpy_version": "numpy version at training.",
    "pandas_version": "pandas version at training.",
    "joblib_version": "joblib version at training.",
    "mlmodels_version": "mlmodels version at training.",
    "estimator_library": ("The library of an estimator named by import path (e.g. lightgbm, "
                          "xgboost); null for scikit-learn's own."),
    "estimator_library_version": ("That library's version at training; scoring refuses another "
                                  "(null for scikit-learn's own)."),
}

ROLE = ("The version's registry status when it scored the row: champion or challenger (the "
        "words of ml_model_registry.status, which may have changed since). Scores written before "
        "mlmodels 0.2 say shadow for challenger; the predictions and performance tables read "
        "them as challenger.")

SCORES: dict[str, str] = {
    "model_name": MODEL_NAME,
    "model_version": "The version that scored the row.",
    "role": ROLE,
    "{key}": "The entity scored.",
    "{as_of}": "The date the features are as of (every feature uses only events before it).",
    "score": ("The model's output: the probability of {target} for a classifier, the predicted "
              "{target} for a regression model."),
    "threshold": "The version's registered threshold (null for regression).",
    "predicted_label": "1 if score >= threshold, else 0 (null for regression).",
    "backfill": "True when the champion scored this as_of after the fact (monitoring.backfill), "
                "not in the run for that as_of.",
    "scored_at": "When the row was scored (UTC).",
    # reason codes (spec explain.top_k): always present, null when the spec asks for none
    "raw_score": ("What the estimator adds up before any link: the log-odds of a logistic or "
                  "boosted classifier, a forest's averaged probability, a regressor's prediction "
                  "before clipping; null without explain.top_k."),
    "base_value": ("The raw score the contributions start from: raw_score = base_value + the sum "
                   "of every feature's contribution (null without explain.top_k)."),
    "explanation_method": ("How the contributions were computed: linear (exact), tree_shap "
                           "(exact TreeSHAP), tree_native (LightGBM's or XGBoost's own TreeSHAP) "
                           "or replacement (each feature set to its training "
                           "reference in turn); null without explain.top_k."),
    "reason_features": ("The explain.top_k features with the largest absolute contribution to "
                        "raw_score, largest first."),
    "reason_contributions": ("Their signed contributions to raw_score, in the order of "
                             "reason_features (positive: pushed the score up)."),
    "reasons": ("The same in words, e.g. 'days_since_last_order high (+0.84); plan = monthly "
                "(-0.12)': high or low against the training mean (a category: its value), then "
                "the contribution."),
}

# the predictions carry the readable reasons; the raw score and method stay in the scores
_SCORES_ONLY = ("raw_score", "base_value", "explanation_method")
PREDICTIONS: dict[str, str] = {
    **{column: text for column, text in SCORES.items() if column not in _SCORES_ONLY},
    "role": ROLE,
    "score_rank": ("1 for the highest score of the version at the as_of; equal scores are ordered "
                   "by {key} ascending, so the ranking is the same on every run."),
    "decision_capacity": ("How many rows the decision acts on at this as_of: problem.capacity of "
                          "ml/{model}.yml (at most the rows scored) or ceil(capacity_share x rows "
                          "scored); null without a capacity."),
    "is_selected": ("Whether the decision acts on the row: score_rank <= decision_capacity; "
                    "without a capacity, score >= threshold (null for regression)."),
    "risk_band": ("With a capacity, by rank: high = selected, medium = the next "
                  "decision_capacity rows, low = the rest. Without one, by score: high at or "
                  "above the threshold, low below (null for regression)."),
}
ATTRIBUTE = "The entity's {column} at the as_of (from the training set), for filtering."

DRIFT: dict[str, str] = {
    "model_name": MODEL_NAME,
    "model_version": "The version whose reference bins the rows are compared with.",
    "feature": "The feature (or 'score' for the prediction's own distribution).",
    "feature_type": "numeric, categorical, or prediction.",
    "{as_of}": "The as_of of the rows compared.",
    "psi": ("Population stability index of the rows at this as_of against the version's "
            "reference (train split; test scores for the prediction): sum((cur - ref) * "
            "ln(cur / ref)) over the bins, shares smoothed by 1e-8."),
    "status": "stable, moderate or drift by the spec's drift.moderate and drift.drift.",
    "reference_total": "Rows in the reference the bins were fitted on.",
    "current_total": "Non-null rows at this as_of that fall into the reference bins.",
    "null_share": "Share of the rows at this as_of whose value is null (left out of the PSI).",
    "unseen_share": ("Categorical features: share of the non-null rows whose category was not "
                     "seen in training (left out of the PSI); null for numeric features."),
}

PERFORMANCE: dict[str, str] = {
    "model_name": MODEL_NAME,
    "model_version": "The version whose scores are measured.",
    "role": ROLE,
    "{as_of}": "The as_of scored; its labels have matured.",
    "period": ("Where the as_of lies for the version: valid, test, embargo (between them) or live "
               "(after its test window)."),
    "labelled_rows": "Scored rows whose label has matured.",
    "positives": "Labelled rows with {target} = 1 (classifiers).",
    "actual_rate": "The share of labelled rows with {target} = 1.",
    "predicted_rate": "The mean score of the labelled rows.",
    "predicted_positive_share": "The share of labelled rows predicted positive at the threshold.",
    "roc_auc": "ROC AUC of the scores against the realised labels (ties share their average rank).",
    "pr_auc": "Average precision of the scores against the realised labels.",
    "precision": "Precision at the registered threshold.",
    "recall": "Recall at the registered threshold.",
    "f1": "F1 at the registered threshold.",
    "threshold": "The version's registered threshold.",
    "rmse": "Root mean squared error against the realised {target} (regression).",
    "mae": "Mean absolute error against the realised {target} (regression).",
    "r2": "Coefficient of determination against the realised {target} (regression).",
    "mean_prediction": "The mean prediction of the labelled rows (regression).",
    "mean_actual": "The mean realised {target} (regression).",
}

SIGNAL: dict[str, str] = {
    "model_name": MODEL_NAME,
    "model_version": "The champion that scored this as_of.",
    "{as_of}": "The as_of the champion scored.",
    "retrain_recommended": "True when any reason below fires: retrain the model.",
    "reasons": "The reasons that fired, in words, with their values.",
    "drift_reason": "A tier-1 feature's PSI reached drift.drift.",
    "performance_reason": ("The latest realised metric is worse than test by more than "
                           "monitoring.performance_margin."),
    "rate_reason": ("The mean prediction and the mean actual over monitoring.rate_window matured "
                    "as_ofs are apart by more than monitoring.rate_gap of the actual."),
    "max_tier1_psi": "The highest PSI of a tier-1 feature at this as_of.",
    "drifted_tier1_features": "The tier-1 features at or above drift.drift, with their PSI.",
    "performance_as_of": "The latest matured as_of the realised metric is from.",
    "performance_metric": "The metric compared with test: roc_auc, or rmse for regression.",
    "realised_value": "The realised metric at performance_as_of.",
    "test_value": "The metric on the version's test split.",
    "rolling_predicted_rate": "Mean prediction over the last matured as_ofs.",
    "rolling_actual_rate": "Mean actual over the last matured as_ofs.",
    "rate_gap": "abs(rolling_predicted_rate - rolling_actual_rate) / abs(rolling_actual_rate).",
}

EXPORTS: dict[str, str] = {
    "table_name": "The table copied.",
    "path": "The Parquet file written (replaced atomically), under MLMODELS_EXPORT_DIR.",
    "rows": "Rows written.",
    "exported_at": "When the copy was written (UTC).",
}

PREFLIGHT: dict[str, str] = {
    "model_name": MODEL_NAME,
    "check_name": "The check (signing key, features, labels, split, folds, ...).",
    "passed": "Whether the check passed; a failed one fails the model.",
    "detail": "What was found, and the fix when it failed.",
}

GATE: dict[str, str] = {
    "suite": "The expectation suite (expectations/<mart>.json).",
    "expectation": "The Great Expectations expectation type.",
    "column_name": "The column it checks (null for table-level expectations).",
    "kwargs": "The expectation's arguments, as JSON.",
    "severity": "error (a failure fails the build) or warn (logged, the build goes on).",
    "success": "Whether the expectation held on this partition.",
    "observed_value": "What was observed, as JSON text (e.g. a null share or a quantile).",
    "unexpected_count": "Rows that broke a row-level expectation.",
    "unexpected_percent": "unexpected_count as a percentage of the partition's non-null rows.",
    "unexpected_values": "A sample of the values that broke it, as JSON text.",
    "as_of": "The partition validated (an as_of), or null for the whole mart.",
    "rows": "Rows in the partition validated.",
    "run_at": "When the gate ran (UTC).",
}

PROFILE: dict[str, str] = {
    "column": "The column profiled (or a table-level row, e.g. duplicates).",
    "dtype": "Its type in the mart.",
    "rows": "Rows profiled.",
    "null_share": "Share of null values.",
    "distinct": "Distinct non-null values.",
    "min": "Minimum (numeric columns).",
    "max": "Maximum (numeric columns).",
    "mean": "Mean (numeric columns).",
    "std": "Standard deviation (numeric columns).",
    **{f"p{q:02d}": f"The {q}th percentile (numeric columns)." for q in (1, 5, 25, 50, 75, 95, 99)},
    "skew": "Skewness (numeric columns).",
    "top_categories": "The five most frequent values and their shares, as JSON (other columns; "
                      "the class shares for the target).",
    "note": "What else was found: class balance or imbalance, infinite values, date range.",
    "mart": "The mart profiled.",
    "sampled_rows": "Rows the statistics were computed on (a sample of a large mart).",
    "total_rows": "Rows in the mart.",
}

# ---------------------------------------------------------------------- the package's own tables

SPECS: dict[str, str] = {
    "model_name": MODEL_NAME,
    "task": "binary_classification or regression.",
    "target": "The label column.",
    "entity_key": "The entity column.",
    "score_column": "The date column of the scores: the as_of column, or snapshot_date.",
    "training_set": "The dbt model holding the model's rows.",
    "spec_path": "The spec file read.",
    "spec_json": "The spec's fields the SQL layers read when they compile, as JSON.",
}

STATUS_HISTORY: dict[str, str] = {
    "model_name": MODEL_NAME,
    "model_version": MODEL_VERSION,
    "from_status": "The status before the change (null when the version was registered).",
    "to_status": "The status after it: champion, challenger, retired or rejected.",
    "reason": "Why it changed (the promotion rule's words, or a pin).",
    "changed_at": "When it changed (UTC).",
}

REFERENCE_BINS: dict[str, str] = {
    "model_name": MODEL_NAME,
    "model_version": MODEL_VERSION,
    "feature": "The feature, or 'score' for the version's test scores.",
    "feature_type": "numeric, categorical, or prediction.",
    "bin_index": "The bin's position, 0 first.",
    "lower_edge": "Numeric bins: the bin holds lower_edge <= value < upper_edge (-inf first).",
    "upper_edge": "Numeric bins: the upper edge, excluded (+inf last).",
    "category": "Categorical bins: the category.",
    "reference_count": "Train rows in the bin.",
    "reference_total": "Non-null train rows of the feature.",
}

_EVALUATED = {"model_name": MODEL_NAME, "model_version": MODEL_VERSION}
SPLIT = "valid or test (train too in ml_evaluation__metrics)."

EVALUATION: dict[str, dict[str, str]] = {
    "ml_evaluation__metrics": {
        **_EVALUATED,
        "model": "What was measured: model (the version), prior, linear or rule (the baselines).",
        "split": "train, valid or test.",
        "metric": "roc_auc, pr_auc, log_loss, brier, precision, recall, f1, accuracy; rmse, mae, "
                  "r2 for regression.",
        "value": "The metric's value (at the evaluated threshold for the thresholded ones).",
    },
    "ml_evaluation__curves": {
        **_EVALUATED,
        "curve": "roc, pr or calibration.",
        "split": SPLIT,
        "x": "roc: false positive rate; pr: recall; calibration: mean score of the bin.",
        "y": "roc: true positive rate; pr: precision; calibration: positive rate of the bin.",
        "threshold": "The score threshold of the point (null for calibration).",
        "rows": "Calibration: rows in the bin (null for the other curves).",
    },
    "ml_evaluation__confusion": {
        **_EVALUATED,
        "split": SPLIT,
        "threshold": "The evaluated threshold (chosen on valid).",
        "tp": "True positives.",
        "fp": "False positives.",
        "tn": "True negatives.",
        "fn": "False negatives.",
    },
    "ml_evaluation__thresholds": {
        **_EVALUATED,
        "threshold": "The threshold: 0.01 .. 0.99, and the one the spec's policy chose.",
        "precision": "Precision on valid at the threshold (0 where undefined).",
        "recall": "Recall on valid at the threshold.",
        "f1": "F1 on valid at the threshold.",
        "predicted_positive_rate": "Share of valid rows at or above the threshold.",
        "tp": "True positives on valid.",
        "fp": "False positives on valid.",
        "tn": "True negatives on valid.",
        "fn": "False negatives on valid.",
        "expected_cost": "(fp cost x FP + fn cost x FN) / rows, by the spec's cost policy (null "
                         "without one); leaves the value of a true positive out.",
        "net_value": "(tp_value x TP - fp cost x FP - fn cost x FN) / rows: what the cost "
                     "policy maximises (null without one).",
        "is_chosen": "True on the threshold the spec's policy chose (on valid, for the model "
                     "fitted on train); null for versions trained before it was recorded.",
        "reason": "On the chosen row: the policy and the value it optimised; null elsewhere.",
    },
    "ml_evaluation__importances": {
        **_EVALUATED,
        "feature": "The feature column.",
        "importance_mean": "Mean drop in the selection metric when the feature is shuffled, on "
                           "(a sample of) valid; near zero or below means unused.",
        "importance_std": "Its standard deviation over the repeats.",
    },
    "ml_evaluation__candidates": {
        **_EVALUATED,
        "candidate": "The estimator's name.",
        "params": "The parameter set, as JSON.",
        "cv_mean": "Mean of the selection metric over the time-ordered CV folds.",
        "cv_std": "Its standard deviation over the folds.",
        "fit_seconds": "Mean fit time, in seconds.",
        "latency_ms_per_1000": "Scoring time per 1,000 rows, in milliseconds.",
        "artifact_mb": "The fitted Pipeline's size, in MB.",
        "meets_constraints": "Whether latency and size are within problem.constraints.",
        "valid_score": "The selection metric on valid of the candidate's best set.",
        "selected": "Whether this is the version's configuration.",
    },
    "ml_evaluation__learning_curve": {
        **_EVALUATED,
        "train_rows": "Rows fitted on (the most recent 20%, 50% and 100% of train).",
        "train_score": "The selection metric on those rows.",
        "valid_score": "The selection metric on valid.",
    },
    "ml_evaluation__lift": {
        **_EVALUATED,
        "split": "test.",
        "decile": "1 .. 10: the tenth of the test rows by score, 1 the highest scores (ties keep "
                  "the rows' order, so deciles differ in size by one row at most).",
        "rows": "Rows in the decile.",
        "positives": "Rows of the decile whose label is positive.",
        "positive_rate": "positives / rows.",
        "lift": "The decile's positive rate over the positive rate of all test rows.",
        "cumulative_positives": "Positives in deciles 1 .. decile.",
        "cumulative_gain": "Share of all test positives in deciles 1 .. decile.",
        "cumulative_lift": "Positive rate of deciles 1 .. decile over the overall positive rate.",
        "min_score": "The lowest score in the decile.",
        "max_score": "The highest score in the decile.",
    },
    "ml_evaluation__residuals": {
        **_EVALUATED,
        "split": "test.",
        "decile": "1 .. 10: the tenth of the test rows by prediction, 1 the lowest predictions.",
        "rows": "Rows in the decile.",
        "min_prediction": "The lowest prediction in the decile.",
        "max_prediction": "The highest prediction in the decile.",
        "mean_prediction": "Mean prediction of the decile.",
        "mean_actual": "Mean actual value of the decile.",
        "mean_residual": "Mean of actual minus predicted: above zero, the model predicts too "
                         "little there.",
        "rmse": "Root mean squared error of the decile.",
        "mae": "Mean absolute error of the decile.",
    },
    "ml_evaluation__segments": {
        **_EVALUATED,
        "split": "test.",
        "feature": "The categorical feature the rows are segmented by.",
        "category": "Its value: the 10 categories with most test rows, (other) for the rest "
                    "pooled, (missing) for nulls.",
        "rows": "Test rows in the segment.",
        "positives": "Classification: positive labels in the segment (null for regression).",
        "actual_rate": "Classification: positives / rows (null for regression).",
        "mean_actual": "Regression: mean actual value (null for classification).",
        "mean_prediction": "Mean score (classification) or prediction (regression).",
        "roc_auc": "Classification: ROC AUC within the segment (null with one class only).",
        "precision": "Classification: precision at the threshold within the segment.",
        "recall": "Classification: recall at the threshold (null without positives).",
        "threshold": "Classification: the evaluated threshold (chosen on valid).",
        "rmse": "Regression: root mean squared error within the segment.",
        "mae": "Regression: mean absolute error within the segment.",
    },
}

PACKAGE: dict[str, dict[str, str]] = {
    "ml_model_specs": SPECS,
    "ml_model_registry": REGISTRY,
    "ml_model_status_history": STATUS_HISTORY,
    "ml_reference_bins": REFERENCE_BINS,
    **EVALUATION,
    "ml_exports": EXPORTS,
    "dq_results": GATE,
}


def model_tables(name: str, key: str, as_of: str, target: str,
                 attributes: tuple[str, ...] = ()) -> dict[str, dict[str, str]]:
    """Return the column descriptions of one model's generated tables, filled in for its spec.

    Parameters
    ----------
    name, key, as_of, target
        The spec's name, entity key, score date column and target.
    attributes
        The predictions' attribute columns (the spec's categorical features).
    """
    def fill(columns: dict[str, str]) -> dict[str, str]:
        return {c.format(key=key, as_of=as_of): d.format(model=name, key=key, as_of=as_of,
                                                         target=target)
                for c, d in columns.items()}

    predictions = fill(PREDICTIONS) | {a: ATTRIBUTE.format(column=a) for a in attributes}
    # the table's own order: the scores' columns, the decision, the attributes, then the stamps
    stamps = ("backfill", "scored_at")
    order = [c for c in predictions if c not in (*stamps, *attributes)] + [*attributes, *stamps]
    return {
        f"ml_{name}__preflight": fill(PREFLIGHT),
        f"ml_{name}__train": fill(REGISTRY),
        f"ml_{name}__scores": fill(SCORES),
        f"ml_{name}__predictions": {c: predictions[c] for c in order},
        f"ml_{name}__feature_drift": fill(DRIFT),
        f"ml_{name}__prediction_drift": fill(DRIFT),
        f"ml_{name}__realised_performance": fill(PERFORMANCE),
        f"ml_{name}__retrain_signal": fill(SIGNAL),
        f"ml_{name}__exports": fill(EXPORTS),
    }


# Comments in the warehouse where the adapter keeps them: DuckDB. dbt-spark comments columns of
# Delta / Iceberg / Hudi tables only and the Spark path writes Parquet, so it is off there.
PERSIST_DOCS = ("persist_docs: {relation: \"{{ target.type == 'duckdb' }}\", "
                "columns: \"{{ target.type == 'duckdb' }}\"}")


def documented(properties: str, tables: dict[str, dict[str, str]], persist: bool = True) -> str:
    """Return generated properties YAML with each listed model's columns described.

    Each model of ``tables`` gets a ``columns:`` list in the order given (its existing entries'
    ``data_tests`` kept) and, with ``persist``, ``persist_docs`` in its config (the package sets
    it for its own models in its ``dbt_project.yml``); other models are left as they are.
    """
    blocks = re.split(r"(?m)^(?=  - name: )", properties)
    out = []
    for block in blocks:
        found = re.match(r"  - name: (\S+)\n", block)
        if not found or found.group(1) not in tables:
            out.append(block)
            continue
        head, _, listed = block.partition("    columns:\n")
        tests = _column_tests(listed)
        if persist:
            head = re.sub(r"(?m)^    config: \{(.*)\}$", rf"    config: {{\1, {PERSIST_DOCS}}}",
                          head)
            head = re.sub(r"(?m)^    config:\n", f"    config:\n      {PERSIST_DOCS}\n", head)
        lines = ["    columns:"]
        for column, description in tables[found.group(1)].items():
            lines += [f"      - name: {column}", f"        description: {json.dumps(description)}",
                      *tests.get(column, [])]
        out.append(head + "\n".join(lines) + "\n")
    return "".join(out)


def _column_tests(listed: str) -> dict[str, list[str]]:
    """Return the lines under each ``- name:`` entry of a ``columns:`` list, by column."""
    tests: dict[str, list[str]] = {}
    current = None
    for line in listed.splitlines():
        entry = re.match(r"      - name: (\S+)$", line)
        if entry:
            current = entry.group(1)
            tests[current] = []
        elif current is not None and line.strip():
            tests[current].append(line)
    return tests
