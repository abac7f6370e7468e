// The incremental sorted view against a plain full sort, through random changes.
import { describe, expect, it } from "vitest";
import { naturalKey, SortedRows } from "./sortedRows";

interface Row {
  name: string;
  restarts: number;
  phase: string;
}

const key = (r: Row) => r.name;

function full(rows: Row[], by: "name" | "restarts", desc: boolean): string[] {
  const v = (r: Row) => (by === "name" ? naturalKey(r.name) : r.restarts);
  return rows
    .slice()
    .sort((a, b) => {
      const x = v(a);
      const y = v(b);
      let c = typeof x === "number" && typeof y === "number" ? x - y : x < y ? -1 : x > y ? 1 : 0;
      if (desc) c = -c;
      return c !== 0 ? c : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    })
    .map(key);
}

describe("naturalKey", () => {
  it("orders digit runs as numbers and ignores case", () => {
    const names = ["pod-10", "Pod-9", "pod-009b", "pod-1", "pod-100", "a"];
    expect(names.map((n) => [n, naturalKey(n)] as const).sort((a, b) => (a[1] < b[1] ? -1 : 1)).map((x) => x[0]))
      .toEqual(["a", "pod-1", "Pod-9", "pod-009b", "pod-10", "pod-100"]);
  });
});

describe("SortedRows", () => {
  for (const [by, desc] of [["name", false], ["restarts", true], ["restarts", false]] as const) {
    it(`stays equal to a full sort by ${by}${desc ? " descending" : ""} through changes`, () => {
      let seed = 42;
      const rnd = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      let rows: Row[] = Array.from({ length: 300 }, (_, i) => ({ name: `pod-${i}`, restarts: rnd(5), phase: "Running" }));
      const sorter = new SortedRows<Row>(key, (r) => (by === "name" ? r.name : r.restarts), desc, (r) => `${r.name} ${r.phase}`);
      expect(sorter.rows(rows).map(key)).toEqual(full(rows, by, desc));
      let next = 300;
      for (let round = 0; round < 200; round++) {
        const base = rows;
        const upserted: Row[] = [];
        const removed: Row[] = [];
        rows = rows.slice();
        for (let k = 0; k < 1 + rnd(4); k++) {
          const op = rnd(3);
          if (op === 0 && rows.length > 1) {
            const at = rnd(rows.length);
            removed.push(rows[at]!);
            rows.splice(at, 1);
          } else if (op === 1) {
            const r = { name: `pod-${next++}`, restarts: rnd(5), phase: "Pending" };
            rows.push(r);
            upserted.push(r);
          } else {
            const at = rnd(rows.length);
            const r = { ...rows[at]!, restarts: rnd(5), phase: "Failed" };
            rows[at] = r;
            upserted.push(r);
          }
        }
        // A key removed in this batch is never also upserted here (the store sends the net change).
        const gone = new Set(removed.map(key));
        const live = new Set(rows.map(key));
        const net = { base, upserted: upserted.filter((r) => live.has(r.name) && rows.includes(r)), removed: removed.filter((r) => !live.has(r.name) && gone.has(r.name)) };
        expect(sorter.rows(rows, net).map(key)).toEqual(full(rows, by, desc));
      }
      expect(sorter.filter("failed").map(key)).toEqual(full(rows.filter((r) => r.phase === "Failed"), by, desc));
    });
  }

  it("recomputes when the delta does not lead from the rows it has", () => {
    const sorter = new SortedRows<Row>(key, (r) => r.restarts, false, (r) => r.name);
    const a = [{ name: "x", restarts: 2, phase: "" }, { name: "y", restarts: 1, phase: "" }];
    expect(sorter.rows(a).map(key)).toEqual(["y", "x"]);
    const b = [{ name: "z", restarts: 0, phase: "" }];
    expect(sorter.rows(b, { base: [], upserted: [], removed: [] }).map(key)).toEqual(["z"]);
  });
});
