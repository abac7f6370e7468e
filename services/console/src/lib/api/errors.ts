// The API's one error shape, {code, message, details} (docs/api.md), as a thrown value pages can show.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly requestId: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }

  get forbidden(): boolean {
    return this.status === 403;
  }
}

export function toApiError(response: Response | undefined, body: unknown): ApiError {
  const status = response?.status ?? 0;
  const requestId = response?.headers.get("X-Request-ID") ?? null;
  if (body && typeof body === "object" && "message" in body && typeof body.message === "string") {
    const b = body as { code?: unknown; message: string; details?: unknown };
    const details = b.details && typeof b.details === "object" ? (b.details as Record<string, unknown>) : {};
    return new ApiError(status, String(b.code ?? "error"), b.message, details, requestId);
  }
  if (status === 0) return new ApiError(0, "network", "The server could not be reached.", {}, null);
  return new ApiError(status, "http_" + status, `The server answered ${status}.`, {}, requestId);
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
