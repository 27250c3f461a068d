{{ mlmodels.feature_psi(
    reference_bins=ref('ml_churn__reference_bins'),
    registry=ref('ml_model_registry'),
    rows=ref('ml_churn__training_set'),
    model_name='churn') }}
