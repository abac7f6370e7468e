// Operations: the REST read gives the current state, the `operations` topic every later change. The
// topic carries no snapshot of past operations, so a page reads once and lets live events overwrite.
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef } from "react";
import { api, call } from "../api/client";
import type { Operation } from "../api/types";
import { useLiveList } from "./hooks";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

export function isFinished(op: Pick<Operation, "status"> | null | undefined): boolean {
  return !!op && FINISHED.has(op.status);
}

/** One operation, live: `cluster` is known from the list or the REST read. */
export function useOperation(id: string | null | undefined): {
  op: Operation | null;
  error: unknown;
  isLoading: boolean;
} {
  const q = useQuery({
    queryKey: ["operation", id],
    enabled: !!id,
    queryFn: () => call(api.GET("/api/v1/operations/{op_id}", { params: { path: { op_id: id ?? "" } } })),
  });
  const cluster = q.data?.cluster;
  const live = useLiveList<Operation>(cluster ? { cluster, topic: "operations" } : null);
  // The topic has no past operations: a change between the REST read and the subscription's (empty)
  // snapshot would never arrive (a quick command would stay "running"). Read once more when it is live.
  const reread = useRef(false);
  const { refetch } = q;
  useEffect(() => {
    if (!live.loaded || reread.current || !id) return;
    reread.current = true;
    void refetch();
  }, [live.loaded, id, refetch]);
  const op = useMemo(() => {
    const fromLive = live.items.find((o) => o.id === id);
    return fromLive ?? q.data ?? null;
  }, [live.items, q.data, id]);
  return { op, error: q.error, isLoading: q.isLoading };
}

/** The live changes to operations of the given clusters, newest last, by id. */
export function useLiveOperations(clusters: string[]): Map<string, Operation> {
  // One subscription per cluster; hooks cannot loop, so a fixed small number of slots is used.
  const a = useLiveList<Operation>(clusters[0] ? { cluster: clusters[0], topic: "operations" } : null);
  const b = useLiveList<Operation>(clusters[1] ? { cluster: clusters[1], topic: "operations" } : null);
  const c = useLiveList<Operation>(clusters[2] ? { cluster: clusters[2], topic: "operations" } : null);
  const d = useLiveList<Operation>(clusters[3] ? { cluster: clusters[3], topic: "operations" } : null);
  return useMemo(() => {
    const m = new Map<string, Operation>();
    for (const v of [a, b, c, d]) for (const op of v.items) m.set(op.id, op);
    return m;
  }, [a, b, c, d]);
}
