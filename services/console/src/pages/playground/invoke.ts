// Runs one test request through POST …/invoke. Streams are read as server-sent events as they arrive.
import { rawFetch } from "../../lib/api/client";

export type InvokePath = "/v1/models" | "/v1/completions" | "/v1/chat/completions";

export interface InvokeOutcome {
  status: number;
  elapsedMs: number;
  firstTokenMs: number | null;
  text: string;
  raw: unknown;
  pod: string | null;
  curl: string;
}

export const TEMPLATES: Record<InvokePath, unknown> = {
  "/v1/chat/completions": { model: "", messages: [{ role: "user", content: "Say hello in five words." }], max_tokens: 64, stream: true },
  "/v1/completions": { model: "", prompt: "Once upon a time", max_tokens: 64, stream: true },
  "/v1/models": null,
};

/** The pod that answered, when the engine says (the simulator does; real engines do not). */
function podOf(obj: unknown): string | null {
  const o = obj as { kubesim_pod?: unknown } | null;
  return typeof o?.kubesim_pod === "string" ? o.kubesim_pod : null;
}

function deltaText(chunk: unknown): string {
  const c = chunk as { choices?: { delta?: { content?: string }; text?: string }[] };
  return (c.choices ?? []).map((ch) => ch.delta?.content ?? ch.text ?? "").join("");
}

export async function invoke(
  target: { cluster: string; namespace: string; name: string },
  path: InvokePath,
  body: unknown,
  onText: (text: string) => void,
): Promise<InvokeOutcome> {
  const url = `/api/v1/clusters/${encodeURIComponent(target.cluster)}/services/${encodeURIComponent(target.namespace)}/${encodeURIComponent(target.name)}/invoke`;
  const started = performance.now();
  const res = await rawFetch(url, { method: "POST", body: JSON.stringify({ path, body, timeout_seconds: 120 }) });
  const type = res.headers.get("Content-Type") ?? "";
  if (!type.includes("text/event-stream")) {
    const out = (await res.json()) as { status: number; body: unknown; elapsed_ms: number; curl: string };
    const b = out.body as { choices?: { message?: { content?: string }; text?: string }[] };
    const text = (b?.choices ?? []).map((c) => c.message?.content ?? c.text ?? "").join("");
    onText(text);
    return { status: out.status, elapsedMs: out.elapsed_ms, firstTokenMs: null, text, raw: out.body, pod: podOf(out.body), curl: out.curl };
  }
  const curlHeader = res.headers.get("X-Podium-Curl");
  const curl = curlHeader ? (JSON.parse(curlHeader) as string) : "";
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let text = "";
  let pod: string | null = null;
  let firstTokenMs: number | null = null;
  const chunks: unknown[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line.startsWith("data:")) continue;
      const data = line.slice(5).trim();
      if (data === "[DONE]") continue;
      try {
        const chunk = JSON.parse(data) as unknown;
        chunks.push(chunk);
        pod = pod ?? podOf(chunk);
        const t = deltaText(chunk);
        if (t && firstTokenMs === null) firstTokenMs = performance.now() - started;
        text += t;
        onText(text);
      } catch {
        // a partial or non-JSON line: shown in the raw view only
      }
    }
  }
  return { status: res.status, elapsedMs: performance.now() - started, firstTokenMs, text, raw: chunks, pod, curl };
}
