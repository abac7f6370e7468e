// One WebSocket per tab (docs/realtime.md). It carries every subscription the open pages hold, remembers
// the last stream id applied per subscription and, after a drop, reconnects with backoff and resubscribes
// with `since` so nothing is missed inside the server's replay window (outside it the server answers a
// resync, which replaces the state).
import { CLOSE_UNAUTHENTICATED, specKey } from "./protocol";
import type { ServerMessage, SubscribeMessage, SubscriptionSpec } from "./protocol";
import type { LiveStore } from "./store";

/** The part of the browser's WebSocket this module uses: the unit tests pass a fake. */
export interface SocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: (() => void) | null;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export interface ConnectionOptions {
  url: string;
  socketFactory: (url: string) => SocketLike;
  store: LiveStore;
  timers?: Timers;
  random?: () => number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Called when the server refuses the session (close 4401): the app sends the user to /login. */
  onUnauthenticated?: () => void;
  /** An unused subscription is kept this long, so going back to a page is instant and resumes. */
  releaseGraceMs?: number;
  heartbeatMs?: number;
}

interface Sub {
  id: string;
  spec: SubscriptionSpec;
  refs: number;
  /** Sent to the server (and so resent on every reconnect) until its last holder is gone. */
  active: boolean;
  dropTimer: unknown;
}

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

export class LiveConnection {
  private socket: SocketLike | null = null;
  private open = false;
  private subs = new Map<string, Sub>(); // by spec key
  private byId = new Map<string, Sub>();
  private seq = 0;
  private attempt = 0;
  private reconnectTimer: unknown = null;
  private heartbeatTimer: unknown = null;
  private lastMessageAt = 0;
  private stopped = false;
  private readonly t: Timers;

  constructor(private readonly o: ConnectionOptions) {
    this.t = o.timers ?? defaultTimers;
  }

  /** The id of the subscription for `spec` (one per distinct spec), without subscribing yet. */
  idFor(spec: SubscriptionSpec): string {
    return this.entry(spec).id;
  }

  /** Takes a reference on the subscription for `spec` (shared by every holder) and returns its id. */
  acquire(spec: SubscriptionSpec): string {
    const sub = this.entry(spec);
    if (sub.dropTimer !== null) {
      this.t.clearTimeout(sub.dropTimer);
      sub.dropTimer = null;
    }
    sub.refs += 1;
    if (!sub.active) {
      sub.active = true;
      this.sendSubscribe(sub);
      this.connect();
    }
    return sub.id;
  }

  private entry(spec: SubscriptionSpec): Sub {
    const key = specKey(spec);
    let sub = this.subs.get(key);
    if (!sub) {
      sub = { id: `s${++this.seq}`, spec, refs: 0, active: false, dropTimer: null };
      this.subs.set(key, sub);
      this.byId.set(sub.id, sub);
      this.o.store.ensure(sub.id, spec.topic);
    }
    return sub;
  }

  release(spec: SubscriptionSpec): void {
    const key = specKey(spec);
    const sub = this.subs.get(key);
    if (!sub) return;
    sub.refs -= 1;
    if (sub.refs > 0 || !sub.active) return;
    sub.dropTimer = this.t.setTimeout(() => {
      this.subs.delete(key);
      this.byId.delete(sub.id);
      this.o.store.drop(sub.id);
      if (this.open) this.send({ type: "unsubscribe", id: sub.id });
    }, this.o.releaseGraceMs ?? 15_000);
  }

  /** After a new login: connect again (a 4401 close stops reconnecting until then). */
  restart(): void {
    this.stopped = false;
    this.socket?.close();
    this.socket = null;
    this.open = false;
    this.attempt = 0;
    if (Array.from(this.subs.values()).some((s) => s.active)) this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer !== null) this.t.clearTimeout(this.reconnectTimer);
    if (this.heartbeatTimer !== null) this.t.clearTimeout(this.heartbeatTimer);
    this.socket?.close();
    this.socket = null;
    this.open = false;
  }

  private connect(): void {
    if (this.socket || this.stopped || this.reconnectTimer !== null) return;
    const socket = this.o.socketFactory(this.o.url);
    this.socket = socket;
    socket.onopen = () => {
      this.open = true;
      this.lastMessageAt = this.t.now();
      // The session cookie authenticated the upgrade; every held subscription is (re)sent, with the last
      // id applied as `since` so the server replays exactly what was missed.
      for (const sub of this.subs.values()) if (sub.active) this.sendSubscribe(sub);
      this.scheduleHeartbeat();
    };
    socket.onmessage = (ev) => this.onMessage(ev.data);
    socket.onerror = () => undefined; // onclose follows and decides
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.open = false;
      if (ev.code === CLOSE_UNAUTHENTICATED) {
        this.stopped = true;
        for (const sub of this.subs.values()) {
          this.o.store.setPhase(sub.id, "error", { code: "unauthenticated", message: "Signed out." });
        }
        this.o.onUnauthenticated?.();
        return;
      }
      for (const sub of this.subs.values()) if (sub.active) this.o.store.setPhase(sub.id, "reconnecting");
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped || !Array.from(this.subs.values()).some((s) => s.active)) return;
    const base = this.o.backoffBaseMs ?? 500;
    const max = this.o.backoffMaxMs ?? 15_000;
    const cap = Math.min(max, base * 2 ** this.attempt);
    this.attempt += 1;
    // Full jitter: a restarted API is not hit by every tab at the same instant.
    const delay = Math.max(100, (this.o.random ?? Math.random)() * cap);
    this.reconnectTimer = this.t.setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private scheduleHeartbeat(): void {
    const every = this.o.heartbeatMs ?? 20_000;
    if (this.heartbeatTimer !== null) this.t.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = this.t.setTimeout(() => {
      this.heartbeatTimer = null;
      if (!this.open || !this.socket) return;
      // A socket silent for over two beats is dead even if the browser has not noticed: drop it.
      if (this.t.now() - this.lastMessageAt > every * 2.5) {
        this.socket.close();
        this.socket.onclose?.({ code: 1006, reason: "heartbeat" });
        return;
      }
      this.send({ type: "ping" });
      this.scheduleHeartbeat();
    }, every);
  }

  private sendSubscribe(sub: Sub): void {
    if (!this.open) return;
    const since = this.o.store.lastId(sub.id);
    const msg: SubscribeMessage = { type: "subscribe", id: sub.id, ...sub.spec };
    if (since !== null) msg.since = since;
    this.send(msg);
  }

  private send(msg: object): void {
    this.socket?.send(JSON.stringify(msg));
  }

  private onMessage(data: unknown): void {
    this.lastMessageAt = this.t.now();
    let msg: ServerMessage;
    try {
      msg = JSON.parse(String(data)) as ServerMessage;
    } catch {
      return;
    }
    const store = this.o.store;
    switch (msg.type) {
      case "subscribed":
        this.attempt = 0;
        return;
      case "snapshot":
      case "resync":
        if (this.byId.has(msg.subscription)) store.replace(msg.subscription, msg.id, msg.objects);
        return;
      case "event":
        if (this.byId.has(msg.subscription)) store.event(msg.subscription, msg.id, msg.event, msg.object);
        return;
      case "error":
        if (msg.subscription && this.byId.has(msg.subscription)) {
          store.setPhase(msg.subscription, "error", { code: msg.code, message: msg.message ?? msg.code });
        }
        return;
      default:
        return;
    }
  }
}
