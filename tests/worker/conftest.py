from worker.fixtures import *  # noqa: F403  (pipeline, worker, sim_cluster, submit, faults, …)
