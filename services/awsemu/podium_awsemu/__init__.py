"""Emulated AWS for tests and `podium up`: moto in server mode plus the small extension in
`extensions.py` that fills the gaps Podium depends on (SageMaker UpdateCluster, node-group and HyperPod
status transitions with delays, fault injection). Never imported by production code: Podium reaches it
only through the standard `AWS_ENDPOINT_URL` setting, exactly as it would reach AWS. docs/infra.md."""
