#!/usr/bin/env node
/** Entry point of the `memvirt` bin. */
import { buildProgram } from "./program";

buildProgram().parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`memvirt: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
});
