export { useLiveList, useLiveChange, live, setUnauthenticatedHandler } from "./hooks";
export { useOperation, useLiveOperations } from "./operations";
export type { LiveObject, SubscriptionSpec, Topic } from "./protocol";
export type { LiveView, Phase } from "./store";
