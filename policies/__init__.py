"""CrossGuard policy packs (GDPR, HIPAA, Kubernetes baseline) and the rule library behind them."""
