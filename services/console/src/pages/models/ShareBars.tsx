// Each business's share of the pool's pods, live (ready pods in the darker part of the bar).
import { Progress, Space, Typography } from "antd";

export interface Share {
  business: string;
  pods: number;
  ready: number;
}

export function ShareBars({ shares, total }: { shares: Share[]; total: number }) {
  return (
    <section aria-label="Business shares" data-testid="share-bars">
      <Space direction="vertical" style={{ width: "100%" }}>
        {shares.map((s) => {
          const pct = total ? Math.round((s.pods / total) * 100) : 0;
          return (
            <div key={s.business} data-testid={`share-bar-${s.business}`} data-pods={s.pods} data-ready={s.ready} data-percent={pct}>
              <Typography.Text>
                {s.business}: {s.pods} pod{s.pods === 1 ? "" : "s"} ({s.ready} ready)
              </Typography.Text>
              <Progress
                percent={pct}
                success={{ percent: total ? Math.round((s.ready / total) * 100) : 0 }}
                aria-label={`${s.business} has ${s.pods} of ${total} pods`}
              />
            </div>
          );
        })}
      </Space>
    </section>
  );
}
