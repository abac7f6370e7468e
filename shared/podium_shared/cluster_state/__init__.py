"""Reads of the watcher's snapshot in Redis: filtered lists and the GPU status of a cluster."""
