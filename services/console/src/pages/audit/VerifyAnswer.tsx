import { Alert } from "antd";
import type { components } from "../../api/schema";

export function VerifyAnswer({ v }: { v: components["schemas"]["VerifyOut"] }) {
  return (
    <Alert
      style={{ marginBottom: 12 }}
      showIcon
      type={v.ok ? "success" : "error"}
      data-testid="audit-verify-result"
      data-ok={v.ok}
      message={v.ok ? `The chain is intact: ${v.checked} rows checked.` : `The chain is broken at row ${v.broken_at}: ${v.reason}`}
      description={
        v.head_id ? `Head: row ${v.head_id}, hash ${v.head_hash}. Keep these somewhere the database owner cannot write to detect a cut-off end later.` : undefined
      }
    />
  );
}
