export * from "./errors";
export * from "./rng";
export * from "./units";
export * from "./fs";
