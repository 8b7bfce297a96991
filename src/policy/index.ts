export * from "./free-memory-state";
export * from "./reclaim-plan";
export * from "./reclamation-policy";
