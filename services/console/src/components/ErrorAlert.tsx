// Shows the API's own message ({code, message, details}); 403s say plainly that the role does not allow it.
import { Alert } from "antd";
import { ApiError, errorMessage } from "../lib/api/errors";

export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  const heading = title ?? (api?.status === 403 ? "Not allowed" : "Something went wrong");
  const items = api?.details?.errors;
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      data-testid="error"
      style={{ marginBottom: 16 }}
      message={heading}
      description={
        <>
          <div data-testid="error-message">{errorMessage(error)}</div>
          {Array.isArray(items) && (
            <ul>
              {items.slice(0, 10).map((e, i) => {
                const x = e as { loc?: unknown[]; msg?: string };
                return <li key={i}>{`${(x.loc ?? []).join(".")}: ${x.msg ?? ""}`}</li>;
              })}
            </ul>
          )}
          {api?.code && <small>code: {api.code}{api.requestId ? ` · request ${api.requestId}` : ""}</small>}
        </>
      }
    />
  );
}
