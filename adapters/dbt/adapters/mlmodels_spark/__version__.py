version = "0.1.0"  # the mlmodels release this adapter ships with
