from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


class ClusterCreate(BaseModel):
    """A kubeconfig (path on the Podium hosts + context), or an EKS cluster name and region."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=DNS_LABEL, max_length=63)
    kubeconfig_path: str | None = Field(None, min_length=1, max_length=4096)
    context: str | None = Field(None, min_length=1, max_length=253)
    eks_cluster_name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
    region: str | None = Field(None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", max_length=32)
    hyperpod_cluster_name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")

    @model_validator(mode="after")
    def _one_way_to_reach_it(self) -> ClusterCreate:
        if self.eks_cluster_name is None and self.kubeconfig_path is None and self.context is None:
            raise ValueError("give kubeconfig_path and/or context, or eks_cluster_name and region")
        if self.eks_cluster_name is not None and self.region is None:
            raise ValueError("an EKS cluster needs its region")
        return self


class ClusterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    kubeconfig_path: str | None
    context: str | None
    eks_cluster_name: str | None
    region: str | None
    hyperpod_cluster_name: str | None
    created_at: datetime
