/**
 * The `memvirt` command line. Each command lives in `commands/<name>.ts` and exports a
 * `register…(program)` function; this file only wires them together.
 */
import { Command, CommanderError } from "commander";
import { EXIT_USAGE } from "../util/errors";
import { registerInfo } from "./commands/info";
import { registerRun } from "./commands/run";
import { registerWalk } from "./commands/walk";
import { registerTranslate } from "./commands/translate";
import { registerMrc } from "./commands/mrc";
import { registerCapturePages } from "./commands/capture-pages";
import { registerSharing } from "./commands/sharing";
import { registerCaptureVm } from "./commands/capture-vm";
import { registerBalloonVm } from "./commands/balloon-vm";
import { registerVm } from "./commands/vm";
import { trackRepeatedFlags } from "./flag-rules";

// Read the version from package.json at run time: dist/cli/program.js → ../../package.json.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const VERSION: string = require("../../package.json").version;

/**
 * Build the commander program (exported so tests can run commands in-process).
 *
 * @example
 * await buildProgram().parseAsync(["node", "memvirt", "info", "--json"]);
 */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name("memvirt")
    .description("memvirt: a memory-virtualization laboratory (page tables, 2-D walks, shadow and nested paging, ballooning and host swapping)")
    .version(VERSION, "-V, --version")
    .configureOutput({
      // Commander's own usage errors: one line on stderr.
      outputError: (text, write) => write(text.replace(/^error: /, "memvirt: error: ")),
    })
    .exitOverride((err: CommanderError) => {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") process.exit(0);
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    });
  registerInfo(program);
  registerRun(program);
  registerWalk(program);
  registerTranslate(program);
  registerMrc(program);
  registerCapturePages(program);
  registerSharing(program);
  registerCaptureVm(program);
  registerBalloonVm(program);
  registerVm(program);
  for (const cmd of program.commands) trackRepeatedFlags(cmd);
  return program;
}
