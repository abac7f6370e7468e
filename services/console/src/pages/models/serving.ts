// Display helpers for Podium's serving objects (label and annotation names from docs/serving.md).
import type { K8s } from "../workloads/k8s";
import { externalAddress, meta } from "../workloads/k8s";

export const SERVING_SELECTOR = "app.kubernetes.io/part-of=podium-serving";

export const modelType = (d: K8s) => (meta(d).labels?.["deployment-type"] === "model-pool" ? "pool" : "standard");
export const engineOf = (d: K8s) => meta(d).labels?.["podium.dev/engine"] ?? "";
export const modelIdOf = (d: K8s) => meta(d).annotations?.["podium.dev/model-id"] ?? meta(d).labels?.model ?? "";
export const instanceOf = (o: K8s) => meta(o).labels?.["app.kubernetes.io/instance"] ?? "";

export function endpointOf(svc: K8s): string {
  const port = ((svc.spec?.ports ?? []) as { port: number }[])[0]?.port;
  const host = externalAddress(svc) || String(svc.spec?.clusterIP ?? "");
  return host ? `${meta(svc).name} → ${host}${port ? `:${port}` : ""}` : meta(svc).name;
}
