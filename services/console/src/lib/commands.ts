// Submitting a command (docs/api.md): POST /commands answers 202 with the queued Operation, which the
// page then follows live through useOperation.
import { useMutation } from "@tanstack/react-query";
import type { paths } from "../api/schema";
import { api, call } from "./api/client";
import type { Operation } from "./api/types";

export interface Command {
  kind: string;
  cluster: string;
  params: Record<string, unknown>;
}

// The API describes the body as a union discriminated by `kind`; forms build it loosely typed.
type CommandBody = paths["/api/v1/commands"]["post"]["requestBody"]["content"]["application/json"];

export function submitCommand(cmd: Command): Promise<Operation> {
  const body = cmd as unknown as CommandBody;
  return call(api.POST("/api/v1/commands", { body }));
}

/** A mutation per form; `data` is the accepted Operation, `error` the API's refusal. */
export function useCommand() {
  return useMutation({ mutationFn: submitCommand });
}
