"""The core command kinds (scale, label, annotate, delete, apply, bulk): Kubernetes verbs on any object."""
