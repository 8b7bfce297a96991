/**
 * The guest image memvirt boots: Debian's kernel, an initramfs made here (busybox-static with
 * its applet links, `/init`, the virtio modules in dependency order) and a read-only disk of
 * deterministic non-zero data for the page-cache and repeat workloads.
 *
 * It is built once per checkout into `node_modules/.memvirt-guest/` (or `MEMVIRT_GUEST_DIR`)
 * and rebuilt only when an input changes: the kernel package, busybox's bytes, the init script
 * and module list, or this builder's format. `image.json` records them (package versions
 * included); it is written last, so a build cut short is redone.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { MemvirtError } from "../util/errors";
import { MiB } from "../util/units";
import { writeCpioNewc, type CpioEntry } from "./cpio-newc";
import { isStaticExecutable } from "./elf-modinfo";
import { GUEST_DISK_MIB, initScript } from "./guest-workloads";
import { findKernelDeb, unpackKernel } from "./kernel-package";

/** Bump when the image's layout or contents change in a way the inputs do not show. */
const IMAGE_FORMAT = 1;
/** The modules the guest loads (their dependencies come along): PCI transport, balloon, disk. */
export const GUEST_MODULES = ["virtio_pci", "virtio_balloon", "virtio_blk"] as const;

/** What `image.json` records. */
export interface GuestImageManifest {
  format: number;
  /** sha256 over every input below: the image is rebuilt when it changes. */
  inputsSha256: string;
  kernel: { package: string; version: string; deb: string };
  busybox: { path: string; version: string; sha256: string };
  /** Module file names inside the initramfs, in load order. */
  modules: string[];
  diskMiB: number;
  builtAt: string;
}

/** A built guest image. */
export interface GuestImage {
  dir: string;
  kernelPath: string;
  initrdPath: string;
  diskPath: string;
  manifest: GuestImageManifest;
  /** True when this call built it, false when the cached image was still good. */
  built: boolean;
}

/** Options of `buildGuestImage`. */
export interface GuestImageOptions {
  /** The cache folder (default `guestImageDir()`). */
  dir?: string;
  /** busybox-static (default `MEMVIRT_BUSYBOX` or /bin/busybox). */
  busyboxPath?: string;
  /** Rebuild even if the inputs did not change. */
  force?: boolean;
  /** Progress lines ("downloading …", "unpacking …"). */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/**
 * The image's cache folder: `MEMVIRT_GUEST_DIR`, else `node_modules/.memvirt-guest` in this checkout.
 *
 * @example
 * guestImageDir() // "/work/main/node_modules/.memvirt-guest"
 */
export function guestImageDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MEMVIRT_GUEST_DIR) return path.resolve(env.MEMVIRT_GUEST_DIR);
  // src/qemu (tsx) and dist/qemu (built) are both two levels below the checkout.
  return path.resolve(__dirname, "..", "..", "node_modules", ".memvirt-guest");
}

/**
 * Check busybox is there and static; return its bytes and version.
 *
 * @internal
 * @example
 * checkBusybox("/bin/busybox").version // "1:1.35.0-4+deb12u1+b1" or the banner's version
 */
export function checkBusybox(file: string): { bytes: Buffer; version: string } {
  const install = "install Debian's busybox-static (npm test/npm start do this as root)";
  if (!fs.existsSync(file)) throw new MemvirtError(`busybox not found; ${install}`, { where: "guest image", value: file });
  const bytes = fs.readFileSync(file);
  let isStatic = false;
  try {
    isStatic = isStaticExecutable(bytes, file);
  } catch {
    isStatic = false;
  }
  if (!isStatic) throw new MemvirtError(`busybox is not statically linked and the guest has no libraries; ${install}`, { where: "guest image", value: file });
  let version = "unknown";
  try {
    version = /BusyBox (v\S+(?: \([^)]*\))?)/.exec(execFileSync(file, ["--help"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }))?.[1] ?? version;
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? "");
    version = /BusyBox (v\S+(?: \([^)]*\))?)/.exec(out)?.[1] ?? version;
  }
  return { bytes, version };
}

function applets(busybox: string): string[] {
  return execFileSync(busybox, ["--list-full"], { encoding: "utf8" }).split("\n").map((l) => l.trim()).filter((l) => l !== "" && l !== "bin/busybox");
}

/**
 * The initramfs entries, in archive order: folders, busybox and its applet links, /init, and the
 * modules under lib/modules (their load order is written into /init).
 *
 * @internal
 * @example
 * const entries = initramfsEntries(busyboxBytes, ["bin/sh", "sbin/insmod"], [["virtio_ring", ko]]);
 */
export function initramfsEntries(busybox: Uint8Array, appletPaths: readonly string[], modules: ReadonlyArray<readonly [string, Uint8Array]>): CpioEntry[] {
  const dirs = new Set(["bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "etc", "lib", "lib/modules"]);
  for (const a of appletPaths) for (let d = path.posix.dirname(a); d !== "." && d !== ""; d = path.posix.dirname(d)) dirs.add(d);
  const entries: CpioEntry[] = [...dirs].sort((a, b) => a.split("/").length - b.split("/").length || a.localeCompare(b)).map((name) => ({ name, kind: "dir" as const }));
  entries.push({ name: "dev/console", kind: "chardev", device: { major: 5, minor: 1 } });
  entries.push({ name: "bin/busybox", kind: "file", data: busybox });
  for (const a of appletPaths) entries.push({ name: a, kind: "symlink", target: "/bin/busybox" });
  const files = modules.map(([name]) => `${name}.ko`);
  entries.push({ name: "init", kind: "file", data: Buffer.from(initScript(files)) });
  for (const [name, bytes] of modules) entries.push({ name: `lib/modules/${name}.ko`, kind: "file", mode: 0o644, data: bytes });
  return entries;
}

/**
 * Fill `file` with `sizeMiB` MiB of deterministic, non-zero, page-distinct bytes (xorshift32 words):
 * the same on every machine, so guests reading it cache the same pages.
 *
 * @internal
 * @example
 * writeGuestDisk("/tmp/disk.img", 4);
 */
export function writeGuestDisk(file: string, sizeMiB: number): void {
  const fd = fs.openSync(`${file}.part`, "w");
  try {
    const chunk = new Uint32Array(MiB / 4);
    let x = 0x9e3779b9;
    for (let m = 0; m < sizeMiB; m++) {
      for (let i = 0; i < chunk.length; i++) {
        x ^= x << 13; x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5; x >>>= 0;
        chunk[i] = x;
      }
      fs.writeSync(fd, new Uint8Array(chunk.buffer));
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${file}.part`, file);
}

function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function readManifest(dir: string): GuestImageManifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "image.json"), "utf8")) as GuestImageManifest;
  } catch {
    return undefined;
  }
}

function imageAt(dir: string, manifest: GuestImageManifest, built: boolean): GuestImage {
  return { dir, kernelPath: path.join(dir, "vmlinuz"), initrdPath: path.join(dir, "initrd.img"), diskPath: path.join(dir, "disk.img"), manifest, built };
}

/**
 * Build the guest image, or return the cached one when nothing it is made from changed.
 * Needs `dpkg-deb` and, the first time, Debian's kernel package (see kernel-package.ts).
 *
 * @example
 * const image = buildGuestImage({ log: console.error });
 * image.kernelPath; image.initrdPath; image.manifest.kernel.version // "6.1.192-2"
 */
export function buildGuestImage(options: GuestImageOptions = {}): GuestImage {
  const env = options.env ?? process.env;
  const dir = options.dir ?? guestImageDir(env);
  const log = options.log ?? (() => {});
  const busyboxPath = options.busyboxPath ?? env.MEMVIRT_BUSYBOX ?? "/bin/busybox";
  const busybox = checkBusybox(busyboxPath);
  fs.mkdirSync(dir, { recursive: true });
  const deb = findKernelDeb(path.join(dir, "debs"), env);
  const debStat = fs.statSync(deb.file);
  const inputs = {
    format: IMAGE_FORMAT,
    kernel: { package: deb.package, version: deb.version, bytes: debStat.size },
    busyboxSha256: sha256(busybox.bytes),
    init: sha256(initScript([...GUEST_MODULES])),
    modules: GUEST_MODULES,
    diskMiB: GUEST_DISK_MIB,
  };
  const inputsSha256 = sha256(JSON.stringify(inputs));
  const cachedImage = () => {
    const m = readManifest(dir);
    const ok = m !== undefined && m.inputsSha256 === inputsSha256 && ["vmlinuz", "initrd.img", "disk.img"].every((f) => fs.existsSync(path.join(dir, f)));
    return ok ? m : undefined;
  };
  const hit = options.force ? undefined : cachedImage();
  if (hit) return imageAt(dir, hit, false);
  // Test files and CLI runs may all find the image stale at once: one builds, the others wait
  // and then take what it built.
  return withBuildLock(dir, log, () => {
    const built = options.force ? undefined : cachedImage();
    if (built) return imageAt(dir, built, false);
    return build(dir, deb, busyboxPath, busybox, inputsSha256, log);
  });
}

/** How long a build may hold the lock before another process takes it over. */
const LOCK_STALE_MS = 10 * 60_000;

function withBuildLock<T>(dir: string, log: (line: string) => void, fn: () => T): T {
  const lock = path.join(dir, ".build-lock");
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let said = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let holder = NaN;
      let ageMs = 0;
      try {
        holder = Number(fs.readFileSync(path.join(lock, "pid"), "utf8"));
        ageMs = Date.now() - fs.statSync(lock).mtimeMs;
      } catch { /* being made or removed right now */ }
      const holderGone = Number.isInteger(holder) && holder > 0 && !fs.existsSync(`/proc/${holder}`);
      if (holderGone || ageMs > LOCK_STALE_MS) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!said) log(`guest image: waiting for another build (pid ${holder})`);
      said = true;
      Atomics.wait(sleeper, 0, 0, 200);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function build(dir: string, deb: ReturnType<typeof findKernelDeb>, busyboxPath: string, busybox: ReturnType<typeof checkBusybox>, inputsSha256: string, log: (line: string) => void): GuestImage {
  const old = readManifest(dir);
  fs.rmSync(path.join(dir, "image.json"), { force: true });
  log(`guest image: unpacking ${path.basename(deb.file)}`);
  const unpackDir = path.join(dir, "unpacked");
  const kernel = unpackKernel(deb.file, unpackDir, GUEST_MODULES);
  fs.copyFileSync(kernel.vmlinuz, path.join(dir, "vmlinuz.part"));
  fs.renameSync(path.join(dir, "vmlinuz.part"), path.join(dir, "vmlinuz"));
  log(`guest image: initramfs (busybox ${busybox.version}, modules ${kernel.loadOrder.join(" ")})`);
  const entries = initramfsEntries(busybox.bytes, applets(busyboxPath), kernel.loadOrder.map((m) => [m, kernel.modules.get(m)!] as const));
  fs.writeFileSync(path.join(dir, "initrd.img.part"), zlib.gzipSync(writeCpioNewc(entries), { level: 6 }));
  fs.renameSync(path.join(dir, "initrd.img.part"), path.join(dir, "initrd.img"));
  fs.rmSync(unpackDir, { recursive: true, force: true });
  const diskPath = path.join(dir, "disk.img");
  if (!(old?.format === IMAGE_FORMAT && old.diskMiB === GUEST_DISK_MIB && fs.existsSync(diskPath) && fs.statSync(diskPath).size === GUEST_DISK_MIB * MiB)) {
    log(`guest image: ${GUEST_DISK_MIB} MiB disk`);
    writeGuestDisk(diskPath, GUEST_DISK_MIB);
  }
  const manifest: GuestImageManifest = {
    format: IMAGE_FORMAT,
    inputsSha256,
    kernel: { package: deb.package, version: deb.version, deb: deb.file },
    busybox: { path: busyboxPath, version: busybox.version, sha256: sha256(busybox.bytes) },
    modules: kernel.loadOrder.map((m) => `${m}.ko`),
    diskMiB: GUEST_DISK_MIB,
    builtAt: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(dir, "image.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return imageAt(dir, manifest, true);
}
