// Lines over a numeric x axis (training curves). ECharts through echarts/core with only the parts used;
// pages load it with lazy() so its weight stays out of every first route's chunk.
import { LineChart as Lines } from "echarts/charts";
import { AriaComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { useMemo } from "react";
import { useECharts } from "./useECharts";

echarts.use([Lines, GridComponent, LegendComponent, TitleComponent, TooltipComponent, AriaComponent, CanvasRenderer]);

export interface Series {
  name: string;
  /** [x, y] pairs, x ascending; y null leaves a gap. */
  points: [number, number | null][];
}

interface Props {
  title: string;
  series: Series[];
  xName?: string;
  height?: number;
  testid?: string;
}

export default function LineChart({ title, series, xName = "step", height = 240, testid }: Props) {
  const option = useMemo(
    () => ({
      aria: { enabled: true },
      animation: false,
      title: { text: title, textStyle: { fontSize: 14, fontWeight: 600 } },
      tooltip: { trigger: "axis" },
      legend: { top: 0, right: 0, type: "scroll", data: series.map((s) => s.name) },
      grid: { left: 56, right: 24, top: 40, bottom: 32 },
      xAxis: { type: "value", name: xName, nameLocation: "middle", nameGap: 22, scale: true },
      yAxis: { type: "value", scale: true },
      series: series.map((s) => ({ name: s.name, type: "line", showSymbol: s.points.length < 60, connectNulls: true, data: s.points })),
    }),
    [series, title, xName],
  );
  const ref = useECharts(option);
  const points = series.reduce((n, s) => n + s.points.filter((p) => p[1] !== null).length, 0);
  const last = series.map((s) => `${s.name}: ${s.points.filter((p) => p[1] !== null).at(-1)?.[1] ?? "none"}`).join("; ");
  return (
    <div
      ref={ref}
      role="img"
      aria-label={`${title}, ${points} points. Latest ${last}`}
      data-testid={testid}
      data-points={points}
      style={{ height, width: "100%" }}
    />
  );
}
