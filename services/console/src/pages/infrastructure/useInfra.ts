// The infrastructure page's data. The AWS side (node groups, instance groups) has no topic: AWS is only
// read, so these reads are re-run when something that changes them happens, never on a timer —
//   * an infrastructure operation of this cluster changes (its worker polls AWS during a transition and
//     publishes each status it sees as progress, so every progress event is a moment the AWS status moved
//     or may have), and
//   * the cluster's nodes change (the node counts and GPU numbers are joined from the live snapshot).
// The GPU total is the server's status read (the overview's), re-read on the same node changes.
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef } from "react";
import { api, call } from "../../lib/api/client";
import type { Operation } from "../../lib/api/types";
import { useLiveChange, useLiveList } from "../../lib/live";
import { isFinished } from "../../lib/live/operations";

export const NODEGROUP_KINDS = new Set(["scale_nodegroup", "create_nodegroup", "delete_nodegroup"]);
export const HYPERPOD_KINDS = new Set(["scale_instance_group", "add_instance_group"]);
const RELOAD_MIN_MS = 1000;

/** The AWS object an infrastructure operation acts on (node group or instance group name). */
export function targetOf(op: Operation): string | null {
  const p = op.params as Record<string, unknown>;
  const name = p.nodegroup ?? p.group ?? p.name;
  return typeof name === "string" ? name : null;
}

export function useNodegroups(cluster: string) {
  return useQuery({
    queryKey: ["nodegroups", cluster],
    queryFn: () => call(api.GET("/api/v1/clusters/{cluster}/nodegroups", { params: { path: { cluster } } })),
    retry: false,
  });
}

export function useHyperpod(cluster: string) {
  return useQuery({
    queryKey: ["hyperpod", cluster],
    queryFn: () => call(api.GET("/api/v1/clusters/{cluster}/hyperpod", { params: { path: { cluster } } })),
    retry: false,
  });
}

export function useClusterStatus(cluster: string) {
  return useQuery({
    queryKey: ["status", cluster],
    queryFn: () => call(api.GET("/api/v1/clusters/{cluster}/status", { params: { path: { cluster } } })),
  });
}

/** What an operation looks like for change detection: its status and the AWS status it last saw. */
function signature(op: Operation): string {
  const aws = (op.progress as Record<string, unknown> | null | undefined)?.status;
  return `${op.id}:${op.status}:${String(aws ?? "")}`;
}

/**
 * Follows the cluster's infrastructure operations live. Returns the running ones by target name (for a
 * row's live progress) and calls `reload` (throttled) whenever one of them moves.
 */
export function useInfraOperations(cluster: string, kinds: Set<string>, reload: () => void): Map<string, Operation> {
  const ops = useLiveList<Operation>({ cluster, topic: "operations" });
  const mine = useMemo(() => ops.items.filter((o) => kinds.has(o.kind)), [ops.items, kinds]);
  const sig = useMemo(() => mine.map(signature).sort().join("|"), [mine]);
  const latest = useRef(reload);
  latest.current = reload;
  const state = useRef<{ seen: string; last: number; timer: ReturnType<typeof setTimeout> | null }>({
    seen: "",
    last: 0,
    timer: null,
  });
  useEffect(() => {
    const st = state.current;
    if (sig === st.seen) return;
    st.seen = sig;
    if (!sig || st.timer !== null) return;
    const wait = Math.max(0, RELOAD_MIN_MS - (Date.now() - st.last));
    st.timer = setTimeout(() => {
      st.timer = null;
      st.last = Date.now();
      latest.current();
    }, wait);
  }, [sig]);
  useEffect(() => () => {
    if (state.current.timer !== null) clearTimeout(state.current.timer);
  }, []);
  return useMemo(() => {
    const m = new Map<string, Operation>();
    for (const op of mine) {
      const t = targetOf(op);
      if (t && !isFinished(op)) m.set(t, op);
    }
    return m;
  }, [mine]);
}

/** Re-reads `reload` when the cluster's nodes change (a node joined or left a group). */
export function useNodeChanges(cluster: string, reload: () => void) {
  return useLiveChange({ cluster, topic: "nodes" }, reload, RELOAD_MIN_MS);
}
