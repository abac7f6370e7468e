"""Podium's Kubernetes client code, and nothing above it: per-cluster clients, error classification, the
table of kinds and their REST paths, and pure functions of Kubernetes objects (selectors, quantities, GPU
requests). It imports only plumbing (db, models, settings, errors); callers hand it their settings."""
