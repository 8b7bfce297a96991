/**
 * The one-line error an experiment spec raises, from parsing or building (shared by the
 * experiment-file tests). Anything but a MemvirtError is rethrown: a user would see a stack.
 */
import { buildHost, parseExperiment } from "../../src/experiments/experiment-file";
import { MemvirtError } from "../../src/util/errors";

/**
 * The MemvirtError `spec` raises; the test fails if it raises none or another kind.
 *
 * @example
 * expect(experimentError({ ...base(), seed: 1.5 }).message).toMatch(/^seed:/);
 */
export function experimentError(spec: unknown): MemvirtError {
  try {
    buildHost(parseExperiment(spec));
  } catch (e) {
    if (e instanceof MemvirtError) return e;
    throw e;
  }
  throw new Error("expected a MemvirtError");
}
