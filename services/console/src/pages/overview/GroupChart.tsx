// Requested vs free GPUs per node group, stacked. ECharts through echarts/core with only the parts used,
// in its own chunk (components/useECharts holds the set-up it shares with the training curves).
import { BarChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent, AriaComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { useMemo } from "react";
import { useECharts } from "../../components/useECharts";
import type { GroupTotals } from "./groups";

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, AriaComponent, CanvasRenderer]);

export default function GroupChart({ groups }: { groups: GroupTotals[] }) {
  const option = useMemo(
    () => ({
      aria: { enabled: true },
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { data: ["Requested", "Free"] },
      grid: { left: 120, right: 24, top: 32, bottom: 24 },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: groups.map((g) => g.group) },
      series: [
        { name: "Requested", type: "bar", stack: "gpu", data: groups.map((g) => g.requested) },
        { name: "Free", type: "bar", stack: "gpu", data: groups.map((g) => g.free) },
      ],
    }),
    [groups],
  );
  const ref = useECharts(option);
  const summary = groups.map((g) => `${g.group}: ${g.requested} requested, ${g.free} free`).join("; ");
  return <div ref={ref} role="img" aria-label={`GPUs per node group. ${summary}`} style={{ height: 40 + groups.length * 36, marginBottom: 12 }} />;
}
