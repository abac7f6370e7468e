import { useQuery } from "@tanstack/react-query";
import { useParams } from "react-router-dom";
import { api, call } from "./api/client";

export function useClusters() {
  return useQuery({ queryKey: ["clusters"], queryFn: () => call(api.GET("/api/v1/clusters")) });
}

/** The cluster in the URL (/c/{cluster}/…). */
export function useCluster(): string {
  return useParams().cluster ?? "";
}
