// One ECharts instance on a div, the way every chart of the console needs it: created on mount, resized with
// the window, disposed on unmount, and given `option` whenever it changes (replacing the previous one).
// Callers register the chart parts they draw with echarts.use, so each chart's chunk carries only those,
// and memoise `option` on what it is built from.
import * as echarts from "echarts/core";
import { useEffect, useRef } from "react";

export function useECharts(option: echarts.EChartsCoreOption) {
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
    chart.current?.setOption(option, { notMerge: true });
  }, [option]);
  return ref;
}
