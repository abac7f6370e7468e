export { useLiveList, useLiveChange, live, setUnauthenticatedHandler } from "./hooks";
export { useOperation, useLiveOperations } from "./operations";
export type { LiveObject, SubscriptionSpec, Topic } from "./protocol";
export type { LiveDelta, LiveView, Phase } from "./store";
export type { TypedView } from "./hooks";
