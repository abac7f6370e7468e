import { useQuery } from "@tanstack/react-query";
import { api, call } from "../../lib/api/client";

/** Instance types and node groups that have GPUs, from the cluster's status read (the live view). */
export function usePlacementOptions(cluster: string) {
  const q = useQuery({
    queryKey: ["status", cluster],
    queryFn: () => call(api.GET("/api/v1/clusters/{cluster}/status", { params: { path: { cluster } } })),
  });
  const nodes = (q.data?.nodes ?? []).filter((n) => n.gpu_allocatable > 0);
  const uniq = (xs: (string | null | undefined)[]) => Array.from(new Set(xs.filter((x): x is string => !!x))).sort();
  return {
    instanceTypes: uniq(nodes.map((n) => n.instance_type)).map((v) => ({ value: v, label: v })),
    nodeGroups: uniq(nodes.map((n) => n.node_group)).map((v) => ({ value: v, label: v })),
    free: q.data?.totals.gpu_free,
  };
}
