"""The runner, sweep and cancel tests use the worker's pipeline fixtures (real Postgres, Redis, kubesim)."""

from worker.fixtures import *  # noqa: F403  (pipeline, kubesim, sim_cluster, kube, namespace, submit, faults, …)
