// Short names for the generated API types pages use.
import type { components } from "../../api/schema";

type S = components["schemas"];
export type Me = S["Me"] & { must_change_password?: boolean };
export type Operation = S["OperationOut"];
export type OperationStatus = S["OperationStatus"];
export type ClusterSummary = S["ClusterSummary"];
export type ClusterStatus = S["ClusterStatus"];
export type NodeStatus = S["NodeStatus"];
export type AuditEvent = S["AuditEventOut"];
export type UserOut = S["UserOut"];
export type Role = S["Role"];

/** POST /auth/login and GET /auth/session (docs: AUTH_CONTRACT). */
export interface SessionOut {
  user: Me;
  csrf_token: string;
}
