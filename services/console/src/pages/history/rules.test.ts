import { describe, expect, it } from "vitest";
import { instanceTone, mergeTagColumns, replicaTone, samplesTone } from "./rules";

describe("history colour rules", () => {
  it("colours instance types by family", () => {
    expect(instanceTone("ml.g5.12xlarge")).toBe("ok");
    expect(instanceTone("ml.p4d.24xlarge")).toBe("info");
    expect(instanceTone("ml.p3.16xlarge")).toBe("warn");
    expect(instanceTone("ml.p5.48xlarge")).toBe("neutral");
    expect(instanceTone("ml.g5")).toBe("neutral");
    expect(instanceTone(undefined)).toBe("neutral");
  });

  it("colours replica counts: ≥4 red, ≥2 orange, <2 green", () => {
    expect(replicaTone("4")).toBe("bad");
    expect(replicaTone(8)).toBe("bad");
    expect(replicaTone("3")).toBe("warn");
    expect(replicaTone("2")).toBe("warn");
    expect(replicaTone("1")).toBe("ok");
    expect(replicaTone("n/a")).toBe("neutral");
  });

  it("colours samples/s: ≥2.0 green, ≥1.0 orange, <0.5 red, between plain", () => {
    expect(samplesTone(2.0)).toBe("ok");
    expect(samplesTone(1.99)).toBe("warn");
    expect(samplesTone(1.0)).toBe("warn");
    expect(samplesTone(0.75)).toBe("neutral");
    expect(samplesTone(0.49)).toBe("bad");
    expect(samplesTone(undefined)).toBe("neutral");
  });
});

describe("tag column order across pages", () => {
  it("keeps the API's order of each page", () => {
    expect(mergeTagColumns([["model", "dataset", "instance_type", "owner"]])).toEqual(["model", "dataset", "instance_type", "owner"]);
  });

  it("places a key first seen on a later page after its predecessor there", () => {
    const first = ["model", "instance_type", "owner"];
    const second = ["model", "dataset", "instance_type", "replica_count", "team"];
    // Within one page the API's order always holds; between keys never seen on the same page there is
    // no order to keep, and the earlier page's keys stay where they were.
    expect(mergeTagColumns([first, second])).toEqual(["model", "dataset", "instance_type", "replica_count", "team", "owner"]);
  });

  it("puts a later page's first key first when it is new", () => {
    expect(mergeTagColumns([["dataset", "zeta"], ["model", "dataset"]])).toEqual(["model", "dataset", "zeta"]);
  });
});
