/** Benchmarks for util: the seeded generator sits on many hot paths. */
import { Rng } from "../../src/util/rng";
import { runBench, throughput } from "./harness";

runBench(async () => {
  const rng = new Rng(1);
  const N = 1_000_000;
  let sink = 0;
  await throughput("util: Rng.nextUint32", N, () => {
    for (let i = 0; i < N; i++) sink ^= rng.nextUint32();
  }, "draws/s");
  if (sink === 0.5) console.log(sink);
});
