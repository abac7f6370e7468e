// The `logs` topic in the store: lines keyed by id (not namespace/name), duplicates after a resume ignored,
// and only the newest LOG_BUFFER_LINES kept in the tab.
import { describe, expect, it } from "vitest";
import { compareIds } from "./ids";
import { specKey } from "./protocol";
import { LiveStore, LOG_BUFFER_LINES } from "./store";

const now = (f: () => void) => f();
// A view's items are in no particular order (a delete moves the last item into the hole): sort to compare.
const byId = <T extends { id?: unknown }>(items: T[]) => [...items].sort((a, b) => compareIds(String(a.id), String(b.id)));
const line = (id: number) => ({ id: String(id), pod: "p-0", container: "pytorch", line: `line ${id}`, namespace: "ns", job: "j" });

describe("log lines in the live store", () => {
  it("keys lines by id, in arrival order, and ignores a replayed id", () => {
    const store = new LiveStore(now);
    store.ensure("l1", "logs");
    store.replace("l1", "12", [line(11), line(12)]);
    store.event("l1", "13", "ADDED", line(13));
    store.event("l1", "13", "ADDED", line(13));
    store.event("l1", "12", "ADDED", line(12));
    const v = store.view("l1");
    expect(byId(v.items).map((o) => o.id)).toEqual(["11", "12", "13"]);
    expect(v.lastId).toBe("13");
  });

  it("keeps only the newest lines, also from a large snapshot", () => {
    const store = new LiveStore(now);
    store.ensure("l1", "logs");
    const many = Array.from({ length: LOG_BUFFER_LINES + 10 }, (_, i) => line(i + 1));
    store.replace("l1", String(many.length), many);
    expect(store.view("l1").items.length).toBe(LOG_BUFFER_LINES);
    expect(byId(store.view("l1").items)[0]?.id).toBe("11");
    store.event("l1", String(many.length + 1), "ADDED", line(many.length + 1));
    const view = store.view("l1");
    expect(view.delta?.removed.map((o) => o.id)).toEqual(["11"]);
    const items = byId(view.items);
    expect(items.length).toBe(LOG_BUFFER_LINES);
    expect(items[0]?.id).toBe("12");
    expect(items.at(-1)?.id).toBe(String(many.length + 1));
  });

  it("gives a job's and a pod's log subscriptions different keys", () => {
    const job = specKey({ cluster: "c", topic: "logs", namespace: "ns", job: "j" });
    const pod = specKey({ cluster: "c", topic: "logs", namespace: "ns", job: "j", pod: "j-master-0" });
    expect(job).not.toBe(pod);
    expect(specKey({ cluster: "c", topic: "pods", namespace: "ns" })).toBe(JSON.stringify(["c", "pods", "ns", ""]));
  });
});
