/**
 * fast-check properties run from one fixed seed, so `npm test` (and CI) sees the same inputs
 * every run: a red run is reproducible, not a coin toss. Explore new inputs with
 * `MEMVIRT_FC_SEED=random npx vitest run` (fast-check prints the seed of any failure), or replay
 * one with `MEMVIRT_FC_SEED=<seed>`.
 */
import fc from "fast-check";

const wanted = process.env.MEMVIRT_FC_SEED;
if (wanted !== "random") {
  const seed = wanted === undefined ? 20261129 : Number(wanted);
  if (!Number.isInteger(seed)) throw new Error(`MEMVIRT_FC_SEED: expected an integer or "random" (got ${JSON.stringify(wanted)})`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}
