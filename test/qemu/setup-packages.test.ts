/**
 * `npm test`/`npm start` (src/scripts/setup.mjs) want QEMU and a static busybox like Jupyter:
 * installed with apt-get as root, else one message with the exact apt-get line. Checked as an
 * ordinary user (root drops to nobody with setpriv) so nothing is installed by the test, with
 * MEMVIRT_QEMU and MEMVIRT_BUSYBOX pointing at a missing QEMU and a dynamic executable.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const SETUP = path.resolve(__dirname, "..", "..", "src", "scripts", "setup.mjs");
const isRoot = process.getuid?.() === 0;

describe("setup.mjs and the QEMU packages", () => {
  it("as a normal user, names qemu-system-x86 and busybox-static (not the dynamic busybox) in the apt-get line, and stops", () => {
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp", MEMVIRT_QEMU: "/nonexistent/qemu-system-x86_64", MEMVIRT_BUSYBOX: process.execPath };
    const argv = [process.execPath, SETUP];
    const cmd = isRoot ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv] : argv;
    const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", env, timeout: 60_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^memvirt setup: missing (.*, )?qemu-system-x86, busybox-static; install them as root, then run this again:\n {2}sudo apt-get update && sudo apt-get install -y --no-install-recommends (.* )?qemu-system-x86 busybox-static\n$/);
  }, 60_000);
});
