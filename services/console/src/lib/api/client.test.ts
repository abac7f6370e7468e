// Mutations carry the CSRF token and an Idempotency-Key; errors carry the API's message.
import { afterEach, describe, expect, it, vi } from "vitest";
import { rawFetch, setCsrfToken } from "./client";
import { ApiError } from "./errors";

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
});

function stubFetch(response: Response) {
  const calls: { url: string; init: RequestInit }[] = [];
  vi.stubGlobal("fetch", (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return Promise.resolve(response);
  });
  return calls;
}

describe("rawFetch", () => {
  it("adds X-CSRF-Token and a fresh Idempotency-Key to mutations only", async () => {
    setCsrfToken("csrf-1");
    const calls = stubFetch(new Response("{}", { status: 200 }));
    await rawFetch("/api/v1/x", { method: "POST", body: "{}" });
    await rawFetch("/api/v1/x", { method: "POST", body: "{}" });
    await rawFetch("/api/v1/x");
    const h = calls.map((c) => new Headers(c.init.headers));
    expect(h[0]!.get("X-CSRF-Token")).toBe("csrf-1");
    expect(h[0]!.get("Idempotency-Key")).toMatch(/^[0-9a-f-]{32,36}$/);
    expect(h[1]!.get("Idempotency-Key")).not.toBe(h[0]!.get("Idempotency-Key"));
    expect(h[0]!.get("Content-Type")).toBe("application/json");
    expect(h[2]!.get("X-CSRF-Token")).toBeNull();
    expect(h[2]!.get("Idempotency-Key")).toBeNull();
    expect(calls[0]!.init.credentials).toBe("same-origin");
  });

  it("throws the API's {code, message, details} as an ApiError", async () => {
    const body = { code: "does_not_fit", message: "a replica needs 16 GPUs", details: { gpus: 16 } };
    stubFetch(new Response(JSON.stringify(body), { status: 422, headers: { "X-Request-ID": "r1" } }));
    const err = await rawFetch("/api/v1/commands", { method: "POST", body: "{}" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 422, code: "does_not_fit", message: "a replica needs 16 GPUs", requestId: "r1" });
  });
});
