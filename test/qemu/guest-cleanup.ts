/**
 * Test helpers that make sure no QEMU outlives a test: every guest a test boots lives under a
 * private state folder whose path is on QEMU's command line (the serial log), so a scan of
 * /proc finds any leftover by that marker, whatever happened to the test. Use:
 *
 *   const lab = guestLab("boot");          // env for bootGuest/stopGuest/the CLI
 *   afterAll(() => lab.cleanup());          // kills leftovers by pid, removes the folder
 *   ... expect(lab.leftovers()).toEqual([]) // pids still running with the marker
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A private place to boot guests in, and the means to be sure they are gone. */
export interface GuestLab {
  /** The folder (and the marker on QEMU's command line). */
  dir: string;
  /** process.env plus MEMVIRT_VM_STATE_DIR=dir. */
  env: NodeJS.ProcessEnv;
  /** Remember a pid to kill in cleanup. */
  track(pid: number): void;
  /** Pids of live processes whose command line mentions dir. */
  leftovers(): number[];
  /** SIGKILL every tracked pid and every leftover, wait until they are gone, remove dir. */
  cleanup(): Promise<number[]>;
}

function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Live pids (other than this process) whose command line contains `marker`. */
export function processesWith(marker: string): number[] {
  return fs.readdirSync("/proc").filter((d) => /^[0-9]+$/.test(d)).map(Number)
    .filter((pid) => pid !== process.pid && alive(pid) && cmdlineOf(pid).includes(marker));
}

/**
 * A private guest state folder under the temp dir (short: unix socket paths are limited to 107 bytes).
 *
 * @example
 * const lab = guestLab("boot");
 */
export function guestLab(label: string): GuestLab {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mvq-${label}-`));
  const pids = new Set<number>();
  const leftovers = () => processesWith(dir);
  return {
    dir,
    env: { ...process.env, MEMVIRT_VM_STATE_DIR: dir },
    track: (pid) => pids.add(pid),
    leftovers,
    cleanup: async () => {
      const found = leftovers();
      for (const pid of [...pids, ...found]) {
        // Only what is still ours: a tracked pid must still carry the marker.
        if (alive(pid) && cmdlineOf(pid).includes(dir)) {
          try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
        }
      }
      const until = Date.now() + 10_000;
      while (Date.now() < until && leftovers().length > 0) await new Promise((r) => setTimeout(r, 50));
      fs.rmSync(dir, { recursive: true, force: true });
      return found;
    },
  };
}
