"""Training jobs (HyperPod and Kubeflow PyTorchJobs running LLaMA-Factory or a custom command) and model
downloads to the shared volume."""
