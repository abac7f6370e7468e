import type { NodeStatus } from "../../lib/api/types";

export interface GroupTotals {
  group: string;
  nodes: number;
  ready: number;
  allocatable: number;
  requested: number;
  free: number;
}

/** Sums of the server's per-node figures by node group (a presentation of its numbers, not a recount). */
export function groupTotals(nodes: NodeStatus[]): GroupTotals[] {
  const by = new Map<string, GroupTotals>();
  for (const n of nodes) {
    const group = n.node_group ?? "(none)";
    const g = by.get(group) ?? { group, nodes: 0, ready: 0, allocatable: 0, requested: 0, free: 0 };
    g.nodes += 1;
    g.ready += n.ready ? 1 : 0;
    g.allocatable += n.gpu_allocatable;
    g.requested += n.gpu_requested;
    g.free += n.gpu_free;
    by.set(group, g);
  }
  return Array.from(by.values()).sort((a, b) => a.group.localeCompare(b.group));
}
