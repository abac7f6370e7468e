// Tells whether what the page shows is live, reconnecting, or failed (with the server's reason).
import { Badge, Tooltip } from "antd";
import type { LiveView } from "../lib/live";

export function LiveBadge({ view }: { view: Pick<LiveView, "phase" | "error" | "loaded"> }) {
  const { phase, error } = view;
  const status = phase === "live" ? "success" : phase === "error" ? "error" : "processing";
  const text =
    phase === "live" ? "Live" : phase === "error" ? `Live updates stopped: ${error?.message ?? ""}` : phase === "reconnecting" ? "Reconnecting…" : "Connecting…";
  return (
    <Tooltip title="Updates arrive over the WebSocket as they happen">
      <span data-testid="live-status" data-phase={phase}>
        <Badge status={status} text={text} />
      </span>
    </Tooltip>
  );
}
