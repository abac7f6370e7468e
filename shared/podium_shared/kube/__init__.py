"""Podium's Kubernetes layer: per-cluster clients, error classification, and the core command kinds."""
