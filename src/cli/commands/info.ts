/**
 * `memvirt info`: what this build is and what it can run. A small command that also shows the
 * pattern every command follows (options, `--json`, human text, errors through `action`).
 */
import type { Command } from "commander";
import { action, emit } from "../io";

/**
 * Register `memvirt info`.
 *
 * @example
 * registerInfo(program);
 */
export function registerInfo(program: Command): void {
  program
    .command("info")
    .description("print the memvirt version, the Node.js version and the available commands")
    .option("--json", "machine-readable output on stdout")
    .action(action((opts: { json?: boolean }) => {
      const data = {
        name: "memvirt",
        version: program.version(),
        node: process.version,
        commands: program.commands.map((c) => c.name()),
      };
      emit(opts, data, () => `memvirt ${data.version} on Node.js ${data.node}\ncommands: ${data.commands.join(", ")}`);
    }));
}
