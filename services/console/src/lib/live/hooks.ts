// What pages use: hooks over the one live connection of this tab.
import { useEffect, useMemo, useRef, useSyncExternalStore } from "react";
import { LiveConnection } from "./connection";
import type { SocketLike } from "./connection";
import { specKey } from "./protocol";
import type { LiveObject, SubscriptionSpec } from "./protocol";
import { LiveStore } from "./store";
import type { LiveView } from "./store";

let store: LiveStore | null = null;
let connection: LiveConnection | null = null;
let onUnauthenticated: () => void = () => undefined;

function wsUrl(): string {
  const proto = window.location.protocol === "https:" ? "wss" : "ws";
  return `${proto}://${window.location.host}/api/v1/ws`;
}

/** The tab's single connection, created on first use. */
export function live(): { store: LiveStore; connection: LiveConnection } {
  if (!store || !connection) {
    store = new LiveStore();
    connection = new LiveConnection({
      url: wsUrl(),
      store,
      socketFactory: (url) => new WebSocket(url) as unknown as SocketLike,
      onUnauthenticated: () => onUnauthenticated(),
    });
  }
  return { store, connection };
}

/** The session module tells the live layer where to send a user whose session ended. */
export function setUnauthenticatedHandler(fn: () => void): void {
  onUnauthenticated = fn;
}

const NONE: LiveView = { items: [], phase: "connecting", error: null, lastId: null, loaded: false, delta: null };

/** A live view typed for its objects. */
export type TypedView<T> = Omit<LiveView, "items" | "delta"> & {
  items: T[];
  delta: { base: T[]; upserted: T[]; removed: T[] } | null;
};

/** Live objects of one topic (null spec: nothing, e.g. while a cluster is not chosen yet). */
export function useLiveList<T = LiveObject>(spec: SubscriptionSpec | null): TypedView<T> {
  const key = spec ? specKey(spec) : "";
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const stable = useMemo(() => spec, [key]);
  const { store: s, connection: c } = live();
  const subId = useMemo(() => (stable ? c.idFor(stable) : null), [stable, c]);
  useEffect(() => {
    if (!stable) return undefined;
    c.acquire(stable);
    return () => c.release(stable);
  }, [stable, c]);
  const view = useSyncExternalStore(
    (notify) => (subId ? s.listen(subId, notify) : () => undefined),
    () => (subId ? s.view(subId) : NONE),
  );
  return view as unknown as TypedView<T>;
}

/** Calls `onChange` at most every `minMs` while a live topic changes: for reads the server computes (the
 * GPU status), re-read when the objects they are computed from change — never on a timer. */
export function useLiveChange(spec: SubscriptionSpec | null, onChange: () => void, minMs = 1000): LiveView {
  const view = useLiveList(spec);
  const latest = useRef(onChange);
  latest.current = onChange;
  const state = useRef<{ first: string | null; last: number; timer: ReturnType<typeof setTimeout> | null }>(
    { first: null, last: 0, timer: null },
  );
  useEffect(() => {
    const st = state.current;
    if (!view.loaded || view.lastId === null) return;
    // The first snapshot is what the read already reflects; only later changes trigger a re-read.
    if (st.first === null) {
      st.first = view.lastId;
      return;
    }
    if (st.timer !== null) return;
    const wait = Math.max(0, minMs - (Date.now() - st.last));
    st.timer = setTimeout(() => {
      st.timer = null;
      st.last = Date.now();
      latest.current();
    }, wait);
  }, [view.loaded, view.lastId, minMs]);
  useEffect(() => () => {
    if (state.current.timer !== null) clearTimeout(state.current.timer);
  }, []);
  return view;
}
