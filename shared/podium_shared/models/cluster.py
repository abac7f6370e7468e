from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from podium_shared.models.base import Base, CreatedAtMixin


class Cluster(CreatedAtMixin, Base):
    """A cluster Podium manages: a kubeconfig context, or an EKS cluster name + region."""

    __tablename__ = "clusters"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    kubeconfig_path: Mapped[str | None] = mapped_column(Text, default=None)
    context: Mapped[str | None] = mapped_column(String(253), default=None)
    eks_cluster_name: Mapped[str | None] = mapped_column(String(100), default=None)
    region: Mapped[str | None] = mapped_column(String(32), default=None)
    hyperpod_cluster_name: Mapped[str | None] = mapped_column(String(100), default=None)
    # An IAM role Podium assumes (STS) for this cluster's AWS calls; the credentials themselves never
    # land here: they come from the standard chain of the process.
    role_arn: Mapped[str | None] = mapped_column(String(2048), default=None)
