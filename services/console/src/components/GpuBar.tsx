// A GPU figure as a bar: requested out of allocatable, with the numbers written out for screen readers.
import { Progress, Tooltip } from "antd";

export function GpuBar({ used, total, testid, label }: { used: number; total: number; testid?: string; label: string }) {
  const pct = total > 0 ? Math.round((used / total) * 100) : 0;
  return (
    <Tooltip title={`${label}: ${used} of ${total} GPUs requested, ${total - used} free`}>
      <div data-testid={testid} data-used={used} data-total={total}>
        <Progress aria-label={`${label}: ${used} of ${total} GPUs requested`} percent={pct} size="small" format={() => `${used}/${total}`} status={pct >= 100 ? "exception" : "normal"} />
      </div>
    </Tooltip>
  );
}
