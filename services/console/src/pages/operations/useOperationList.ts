// A filtered operations list: REST pages (cursor), with live changes from the operations topic merged in
// (new matching operations appear on top, existing ones update in place).
import { useInfiniteQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { api, call } from "../../lib/api/client";
import type { Operation, OperationStatus } from "../../lib/api/types";
import { useClusters } from "../../lib/clusters";
import { useLiveOperations } from "../../lib/live";
import { matches } from "./columns";
import type { OpFilter } from "./columns";

export function useOperationList(f: OpFilter, liveClusters?: string[]) {
  const clusters = useClusters();
  const q = useInfiniteQuery({
    queryKey: ["operations", f],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      call(
        api.GET("/api/v1/operations", {
          params: {
            query: {
              status: (f.status || undefined) as OperationStatus | undefined,
              kind: f.kind || undefined,
              cluster: f.cluster || undefined,
              requested_by: f.requested_by || undefined,
              parent_id: f.parent_id || undefined,
              limit: 100,
              cursor: pageParam ?? undefined,
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? null,
  });
  const names = liveClusters ?? (f.cluster ? [f.cluster] : (clusters.data ?? []).map((c) => c.name));
  const live = useLiveOperations(names);
  const rows = useMemo(() => {
    const byId = new Map<string, Operation>();
    for (const page of q.data?.pages ?? []) for (const op of page.items) byId.set(op.id, op);
    for (const op of live.values()) {
      if (byId.has(op.id) || matches(op, f)) byId.set(op.id, op);
    }
    return Array.from(byId.values()).sort((a, b) => b.created_at.localeCompare(a.created_at));
  }, [q.data, live, f]);
  return { rows, query: q };
}
