"""AWS infrastructure behind a cluster: EKS node groups, HyperPod instance groups, the S3 buckets behind
its S3 CSI volumes. Reads call AWS (and join the watcher's snapshot); changes are command kinds."""
