/**
 * Build a page-walk cache from a user option: a design name or an object with a `design` and
 * its sizes.
 */
import { MemvirtError } from "../util/errors";
import { checkOptionKeys } from "./check-options";
import { Stc, type StcOptions } from "./stc";
import { Uptc, type UptcOptions } from "./uptc";
import { NoWalkCache, type WalkCache, type WalkCacheDesign } from "./walk-cache";

/** How a page-walk cache is configured. */
export type WalkCacheOption =
  | WalkCacheDesign
  | false
  | ({ design: "uptc" } & UptcOptions)
  | ({ design: "stc" } & StcOptions)
  | { design: "none" };

/**
 * @internal
 * @example
 * createWalkCache("uptc").describe() // "UPTC (physically tagged entry cache), 24 entries, fully associative"
 * createWalkCache({ design: "stc", entries: [64, 8, 4] })
 */
export function createWalkCache(option: WalkCacheOption | undefined, where = "pwc"): WalkCache {
  if (option === undefined || option === false || option === "none") return new NoWalkCache();
  if (option === "uptc") return new Uptc({}, where);
  if (option === "stc") return new Stc({}, where);
  if (typeof option === "object" && option !== null) {
    if (option.design === "uptc") return new Uptc(option, where);
    if (option.design === "stc") return new Stc(option, where);
    if (option.design === "none") {
      checkOptionKeys(option, ["design"], where);
      return new NoWalkCache();
    }
  }
  throw new MemvirtError("expected a page-walk cache design: none, uptc or stc", { where, value: option });
}
