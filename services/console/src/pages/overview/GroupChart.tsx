// Requested vs free GPUs per node group, stacked. ECharts through echarts/core with only the parts used,
// in its own chunk (the same setup will draw training curves).
import { BarChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent, AriaComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { useEffect, useRef } from "react";
import type { GroupTotals } from "./groups";

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, AriaComponent, CanvasRenderer]);

export default function GroupChart({ groups }: { groups: GroupTotals[] }) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    if (!ref.current) return undefined;
    chart.current = echarts.init(ref.current);
    const onResize = () => chart.current?.resize();
    window.addEventListener("resize", onResize);
    return () => {
      window.removeEventListener("resize", onResize);
      chart.current?.dispose();
    };
  }, []);
  useEffect(() => {
    chart.current?.setOption({
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
    });
  }, [groups]);
  const summary = groups.map((g) => `${g.group}: ${g.requested} requested, ${g.free} free`).join("; ");
  return <div ref={ref} role="img" aria-label={`GPUs per node group. ${summary}`} style={{ height: 40 + groups.length * 36, marginBottom: 12 }} />;
}
