// A secret the API shows exactly once (a token, an initial password), with a copy button.
import { Alert, Typography } from "antd";

export function OnceSecret({ label, value, onClose }: { label: string; value: string; onClose: () => void }) {
  return (
    <Alert
      type="warning"
      showIcon
      closable
      onClose={onClose}
      style={{ marginBottom: 12 }}
      message={`${label} — shown once, copy it now`}
      description={
        <Typography.Paragraph copyable code data-testid="once-secret" style={{ margin: 0 }}>
          {value}
        </Typography.Paragraph>
      }
    />
  );
}
