// Tells whether what the page shows is live, reconnecting, or failed (with the server's reason).
import { Badge, Tooltip } from "antd";
import type { LiveView } from "../lib/live";

// `data-last-id` is the last stream id the page applied: tests and bench/console.py read it to know a change
// reached the page.
export function LiveBadge({ view }: { view: Pick<LiveView, "phase" | "error" | "loaded"> & { lastId?: string | null } }) {
  const { phase, error } = view;
  const status = phase === "live" ? "success" : phase === "error" ? "error" : "processing";
  const text =
    phase === "live" ? "Live" : phase === "error" ? `Live updates stopped: ${error?.message ?? ""}` : phase === "reconnecting" ? "Reconnecting…" : "Connecting…";
  return (
    <Tooltip title="Updates arrive over the WebSocket as they happen">
      <span data-testid="live-status" data-phase={phase} data-last-id={view.lastId ?? undefined}>
        <Badge status={status} text={text} />
      </span>
    </Tooltip>
  );
}
