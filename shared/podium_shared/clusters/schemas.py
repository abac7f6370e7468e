from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
# An IAM role ARN in any partition (aws, aws-cn, aws-us-gov): the only thing Podium stores to reach AWS.
ROLE_ARN = r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$"


class ClusterCreate(BaseModel):
    """A kubeconfig (path on the Podium hosts + context), or an EKS cluster name and region."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=DNS_LABEL, max_length=63)
    kubeconfig_path: str | None = Field(None, min_length=1, max_length=4096)
    context: str | None = Field(None, min_length=1, max_length=253)
    eks_cluster_name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
    region: str | None = Field(None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    hyperpod_cluster_name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
    role_arn: str | None = Field(None, pattern=ROLE_ARN, max_length=2048)

    @model_validator(mode="after")
    def _one_way_to_reach_it(self) -> ClusterCreate:
        if self.eks_cluster_name is None and self.kubeconfig_path is None and self.context is None:
            raise ValueError("give kubeconfig_path and/or context, or eks_cluster_name and region")
        if self.eks_cluster_name is not None and self.region is None:
            raise ValueError("an EKS cluster needs its region")
        if self.hyperpod_cluster_name is not None and self.region is None:
            raise ValueError("a HyperPod cluster needs its region")
        if self.role_arn is not None and self.region is None:
            raise ValueError("role_arn is for AWS calls, which need the cluster's region")
        return self


class ClusterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    kubeconfig_path: str | None
    context: str | None
    eks_cluster_name: str | None
    region: str | None
    hyperpod_cluster_name: str | None
    role_arn: str | None
    created_at: datetime
