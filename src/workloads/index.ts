export * from "./workload";
