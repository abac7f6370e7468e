"""Integration tests run the whole pipeline: real Postgres, Redis, a worker process and kubesim over HTTP."""

from worker.fixtures import *  # noqa: F403  (pipeline, worker, sim_cluster, submit, faults, …)
