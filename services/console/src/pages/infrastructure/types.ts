// Short names for the generated API types of the infrastructure pages.
import type { components } from "../../api/schema";

type S = components["schemas"];
export type NodegroupList = S["NodegroupList"];
export type Nodegroup = S["NodegroupOut"];
export type Hyperpod = S["HyperpodOut"];
export type InstanceGroup = S["InstanceGroupOut"];
export type KubeNode = S["KubeNode"];
export type TaintIn = S["Taint"];
