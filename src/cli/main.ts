#!/usr/bin/env node
/** Entry point of the `memvirt` bin. */
import { guardStdout } from "./io";
import { buildProgram } from "./program";

guardStdout();

buildProgram().parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`memvirt: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
});
