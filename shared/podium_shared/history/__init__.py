"""Training history: runs from an MLflow tracking server, as tables, details, comparisons and commands."""
