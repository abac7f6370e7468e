// Reads of the storage page: the S3 CSI volumes (from the snapshot) and one volume's objects, a page at a
// time with the continuation cursor, plus the presigned download URL of one object.
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import type { components } from "../../api/schema";
import { api, call } from "../../lib/api/client";

export type Volume = components["schemas"]["Volume"];
export type S3Object = components["schemas"]["S3Object"];
export type ObjectListing = components["schemas"]["ObjectListing"];

export const PAGE_SIZE = 100;

export function useVolumes(cluster: string) {
  return useQuery({
    queryKey: ["storage", cluster],
    queryFn: () => call(api.GET("/api/v1/clusters/{cluster}/storage", { params: { path: { cluster } } })),
    retry: false,
  });
}

export function useObjects(cluster: string, pv: string | null, prefix: string) {
  return useInfiniteQuery({
    queryKey: ["objects", cluster, pv, prefix],
    enabled: !!pv,
    retry: false,
    initialPageParam: null as string | null,
    getNextPageParam: (last: ObjectListing) => last.cursor ?? undefined,
    queryFn: ({ pageParam }) =>
      call(
        api.GET("/api/v1/clusters/{cluster}/storage/{pv}/objects", {
          params: { path: { cluster, pv: pv ?? "" }, query: { prefix, cursor: pageParam, limit: PAGE_SIZE } },
        }),
      ),
  });
}

export function downloadUrl(cluster: string, pv: string, key: string) {
  return call(
    api.GET("/api/v1/clusters/{cluster}/storage/{pv}/objects/url", { params: { path: { cluster, pv }, query: { key } } }),
  );
}

/** "a/b/c/" → [["", "root"], ["a/", "a"], ["a/b/", "b"], ["a/b/c/", "c"]] */
export function crumbs(prefix: string): [string, string][] {
  const parts = prefix.split("/").filter(Boolean);
  return parts.reduce<[string, string][]>((acc, part) => [...acc, [`${acc[acc.length - 1]![0]}${part}/`, part]], [["", "root"]]);
}

export function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}
