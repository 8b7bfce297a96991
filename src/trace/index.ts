export * from "./lackey-parser";
export * from "./read-lackey";
export * from "./load-lackey";
export * from "./replay";
