import { describe, expect, it } from "vitest";
import { latest, seriesOf, throughput } from "./metrics";

const p = (metric_name: string, iteration: number, value: number, timestamp: number, data_source = "log") => ({ metric_name, iteration, value, timestamp, data_source });

describe("training chart series", () => {
  const points = [
    p("loss", 10, 2.5, 10_000), p("learning_rate", 10, 5e-5, 10_000),
    p("loss", 20, 2.1, 15_000), p("loss", 5, 2.7, 7_000),
    p("loss", 20, 2.1, 15_000, "mlflow"),
    p("train_samples_per_second", 20, 3.2, 16_000),
  ];

  it("charts the kept log's points by step, else each other source", () => {
    const s = seriesOf(points, "loss");
    expect(s).toEqual([{ name: "loss", points: [[5, 2.7], [10, 2.5], [20, 2.1]] }]);
    const other = [p("loss", 2, 1.5, 1, "mlflow"), p("loss", 1, 1.9, 0, "wandb"), p("loss", 1, 1.8, 0, "mlflow")];
    expect(seriesOf(other, "loss")).toEqual([
      { name: "loss (mlflow)", points: [[1, 1.8], [2, 1.5]] },
      { name: "loss (wandb)", points: [[1, 1.9]] },
    ]);
  });

  it("derives steps per second between logged steps", () => {
    // 5 steps in 3 s, then 10 steps in 5 s.
    expect(throughput(points)).toEqual([{ name: "steps/s", points: [[10, 1.667], [20, 2]] }]);
    expect(throughput([p("loss", 1, 1, 1000)])).toEqual([]);
  });

  it("reads the final summary figures", () => {
    expect(latest(points, ["train_samples_per_second", "train_runtime"])).toEqual({ train_samples_per_second: 3.2 });
  });
});
