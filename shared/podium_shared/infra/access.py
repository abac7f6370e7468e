"""Which AWS account, region and resources stand behind a registered cluster, and clients to reach them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from podium_shared.aws.sessions import AwsTarget, AwsTuning, client
from podium_shared.clusters.service import get_cluster
from podium_shared.errors import PodiumError
from podium_shared.settings import PodiumSettings


@dataclass(frozen=True)
class ClusterAws:
    cluster: str
    region: str | None
    eks_cluster_name: str | None
    hyperpod_cluster_name: str | None
    role_arn: str | None
    tuning: AwsTuning

    def client(self, service: str) -> Any:
        if self.region is None:
            raise PodiumError(
                f'cluster "{self.cluster}" has no AWS region registered; register it with its EKS name and'
                " region to manage its AWS resources",
                code="no_aws_region",
                status=409,
            )
        return client(service, AwsTarget(self.region, self.role_arn), self.tuning)

    def eks_name(self) -> str:
        if not self.eks_cluster_name:
            raise PodiumError(
                f'cluster "{self.cluster}" has no EKS cluster name registered; node groups need it',
                code="no_eks_cluster",
                status=409,
            )
        return self.eks_cluster_name

    def hyperpod_name(self) -> str:
        if not self.hyperpod_cluster_name:
            raise PodiumError(
                f'cluster "{self.cluster}" has no HyperPod cluster name registered',
                code="no_hyperpod_cluster",
                status=409,
            )
        return self.hyperpod_cluster_name


def cluster_aws(session: Session, cluster: str, settings: PodiumSettings) -> ClusterAws:
    row = get_cluster(session, cluster)
    return ClusterAws(
        cluster=row.name,
        region=row.region,
        eks_cluster_name=row.eks_cluster_name,
        hyperpod_cluster_name=row.hyperpod_cluster_name,
        role_arn=row.role_arn,
        tuning=AwsTuning.from_settings(settings),
    )
