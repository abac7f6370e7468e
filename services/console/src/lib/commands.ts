// Submitting a command (docs/api.md): POST /commands answers 202 with the queued Operation, which the
// page then follows live through useOperation.
import { useMutation } from "@tanstack/react-query";
import type { components } from "../api/schema";
import { api, call } from "./api/client";
import type { Operation } from "./api/types";

export interface Command {
  kind: string;
  cluster: string;
  params: Record<string, unknown>;
}

export function submitCommand(cmd: Command): Promise<Operation> {
  const body = cmd as unknown as components["schemas"]["CommandRequest"];
  return call(api.POST("/api/v1/commands", { body }));
}

/** A mutation per form; `data` is the accepted Operation, `error` the API's refusal. */
export function useCommand() {
  return useMutation({ mutationFn: submitCommand });
}
