import { Spin } from "antd";
import { Navigate } from "react-router-dom";
import { useClusters } from "../lib/clusters";

/** "/" goes to the first cluster's overview, or the operations list when no cluster is registered. */
export function HomeRedirect() {
  const clusters = useClusters();
  if (clusters.isLoading) return <div role="status" aria-label="Loading" style={{ margin: 48 }}><Spin /></div>;
  const first = clusters.data?.[0]?.name;
  return <Navigate to={first ? `/c/${encodeURIComponent(first)}/overview` : "/operations"} replace />;
}
