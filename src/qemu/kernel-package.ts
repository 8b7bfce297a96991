/**
 * The guest's kernel, from Debian's own kernel package, without installing it on the host:
 * installing would run its postinst hooks (update-initramfs, bootloader) on this machine. The
 * .deb is found or fetched with `apt-get download` (works as any user once apt's lists exist),
 * and only the kernel and the modules the guest needs are unpacked with `dpkg-deb`.
 *
 * Where the .deb comes from, first match wins:
 *   1. `MEMVIRT_KERNEL_DEB=FILE.deb`;
 *   2. the package `linux-image-amd64` depends on (`apt-cache depends`, remembered until apt's
 *      lists change), in the image's `debs/`
 *      folder or apt's own cache (/var/cache/apt/archives), else `apt-get download`ed into `debs/`;
 *   3. without apt: the newest linux-image .deb already in `debs/`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { MemvirtError } from "../util/errors";
import { moduleDepends } from "./elf-modinfo";

/** Debian's metapackage that always depends on the current kernel. */
export const KERNEL_METAPACKAGE = "linux-image-amd64";
const APT_ARCHIVES = "/var/cache/apt/archives";

/**
 * A kernel .deb: its file and the package it holds.
 * @internal
 */
export interface KernelDeb {
  file: string;
  package: string;
  version: string;
}

/**
 * The kernel and modules taken out of a kernel .deb.
 * @internal
 */
export interface UnpackedKernel {
  /** The bzImage (boot/vmlinuz-…). */
  vmlinuz: string;
  /** Module name → its uncompressed .ko bytes, for every module asked for and what it depends on. */
  modules: Map<string, Buffer>;
  /** The same names in load order: each after everything it depends on. */
  loadOrder: string[];
}

function debField(file: string, field: string): string {
  return execFileSync("dpkg-deb", ["-f", file, field], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/**
 * Describe a kernel .deb file (its Package and Version fields).
 *
 * @internal
 * @example
 * readKernelDeb("linux-image-6.1.0-56-amd64_6.1.192-2_amd64.deb").version // "6.1.192-2"
 */
export function readKernelDeb(file: string, where = "MEMVIRT_KERNEL_DEB"): KernelDeb {
  if (!fs.existsSync(file)) throw new MemvirtError("no such kernel .deb", { where, value: file });
  let pkg: string;
  try {
    pkg = debField(file, "Package");
  } catch {
    throw new MemvirtError("not a Debian package (dpkg-deb cannot read it)", { where, value: file });
  }
  if (!pkg.startsWith("linux-image-")) throw new MemvirtError(`not a kernel package: it holds ${pkg}`, { where, value: file });
  return { file, package: pkg, version: debField(file, "Version") };
}

const APT_LISTS = "/var/lib/apt/lists";

/**
 * What identifies apt's package lists now: names, sizes and times (apt-get update changes it).
 *
 * @internal
 * @example
 * aptListsKey() // "deb.debian.org_debian_dists_bookworm_InRelease:151075:1783764997000|…"
 */
export function aptListsKey(): string | undefined {
  try {
    return fs.readdirSync(APT_LISTS).filter((f) => f.includes("_Packages") || f.endsWith("Release")).sort()
      .map((f) => {
        const st = fs.statSync(path.join(APT_LISTS, f));
        return `${f}:${st.size}:${st.mtimeMs}`;
      }).join("|");
  } catch {
    return undefined;
  }
}

/**
 * The kernel package `linux-image-amd64` depends on now, or undefined without apt. apt-cache
 * takes most of a second (it parses every list), so the answer is kept in `memoFile` until
 * apt's lists change.
 */
function currentKernelPackage(memoFile: string): string | undefined {
  const key = aptListsKey();
  try {
    const memo = JSON.parse(fs.readFileSync(memoFile, "utf8")) as { key?: string; package?: string };
    if (key !== undefined && memo.key === key && typeof memo.package === "string") return memo.package;
  } catch { /* no memo yet */ }
  const r = spawnSync("apt-cache", ["depends", KERNEL_METAPACKAGE], { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  const pkg = /Depends:\s*(linux-image-\S+)/.exec(r.stdout)?.[1];
  if (pkg !== undefined && key !== undefined) {
    try {
      fs.mkdirSync(path.dirname(memoFile), { recursive: true });
      fs.writeFileSync(memoFile, JSON.stringify({ key, package: pkg }));
    } catch { /* a read-only cache only costs the next call the same second */ }
  }
  return pkg;
}

function debsIn(dir: string, pkg?: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir)
    .filter((f) => f.endsWith(".deb") && (pkg === undefined ? f.startsWith("linux-image-") : f.startsWith(`${pkg}_`)))
    .map((f) => path.join(dir, f))
    .sort();
}

/**
 * Find (or `apt-get download` into `debsDir`) the kernel .deb the guest image uses.
 *
 * @internal
 * @example
 * const deb = findKernelDeb("node_modules/.memvirt-guest/debs");
 */
export function findKernelDeb(debsDir: string, env: NodeJS.ProcessEnv = process.env): KernelDeb {
  if (env.MEMVIRT_KERNEL_DEB) return readKernelDeb(env.MEMVIRT_KERNEL_DEB);
  const pkg = currentKernelPackage(path.join(debsDir, "apt-kernel.json"));
  if (pkg === undefined) {
    const any = debsIn(debsDir);
    if (any.length > 0) return readKernelDeb(any[any.length - 1], debsDir);
    throw new MemvirtError(`no Debian kernel package: apt-cache cannot name ${KERNEL_METAPACKAGE}'s kernel and ${debsDir} holds none; on Debian run \`apt-get update\` as root, or set MEMVIRT_KERNEL_DEB=FILE.deb`, { where: "guest image" });
  }
  const have = [...debsIn(debsDir, pkg), ...debsIn(APT_ARCHIVES, pkg)];
  if (have.length > 0) return readKernelDeb(have[have.length - 1], "guest image");
  fs.mkdirSync(debsDir, { recursive: true });
  const r = spawnSync("apt-get", ["download", "-q", pkg], { cwd: debsDir, encoding: "utf8" });
  const got = debsIn(debsDir, pkg);
  if (r.status !== 0 || got.length === 0) {
    const why = (r.error?.message ?? r.stderr ?? "").trim().split("\n").filter((l) => !l.startsWith("W:")).pop() ?? "";
    throw new MemvirtError(`could not download Debian's kernel package ${pkg} with apt-get download${why ? ` (${why})` : ""}; run \`apt-get update\` as root, or set MEMVIRT_KERNEL_DEB=FILE.deb`, { where: "guest image" });
  }
  return readKernelDeb(got[got.length - 1], "guest image");
}

/**
 * A kernel module's ELF bytes from its file: .ko as is, .ko.gz with zlib, .ko.xz and .ko.zst
 * through Debian's `xz` and `zstd` (busybox insmod takes plain ELF only; neither is in zlib).
 *
 * @internal
 * @example
 * decompressModule("lib/modules/6.1.0-56-amd64/kernel/drivers/virtio/virtio.ko.xz").readUInt32BE(0) // 0x7f454c46
 */
export function decompressModule(file: string): Buffer {
  if (file.endsWith(".ko")) return fs.readFileSync(file);
  if (file.endsWith(".ko.gz")) return zlib.gunzipSync(fs.readFileSync(file));
  const tool = file.endsWith(".ko.xz") ? "xz" : file.endsWith(".ko.zst") ? "zstd" : undefined;
  if (tool === undefined) throw new Error(`unknown module compression: ${file}`);
  try {
    return execFileSync(tool, ["-dc", file], { maxBuffer: 256 * 1024 * 1024 });
  } catch (err) {
    throw new MemvirtError(`cannot decompress a kernel module with ${tool} (${(err as Error).message.split("\n")[0]}); install Debian's ${tool === "xz" ? "xz-utils" : "zstd"}`, { where: "guest image", value: file });
  }
}

function extract(deb: string, into: string, patterns: string[]): void {
  // dpkg-deb streams the data tar; tar keeps only the members asked for ('*' matches '/').
  const r = spawnSync("sh", ["-c", 'deb=$1; into=$2; shift 2; dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$into" --wildcards "$@" 2>/dev/null; exit 0', "sh", deb, into, ...patterns], { encoding: "utf8" });
  if (r.error) throw new MemvirtError(`cannot unpack the kernel package: ${r.error.message}`, { where: "guest image", value: deb });
}

function findFiles(dir: string, test: (name: string) => boolean, out: string[] = []): string[] {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) findFiles(p, test, out);
    else if (test(e.name)) out.push(p);
  }
  return out;
}

const moduleName = (file: string) => path.basename(file).replace(/\.ko(\.(xz|gz|zst))?$/, "");

/**
 * Unpack the kernel and `wanted` modules (with every module they depend on, read from each
 * module's own `.modinfo`, since the package has no modules.dep) from a kernel .deb into `dir`.
 *
 * @internal
 * @example
 * const k = unpackKernel(deb.file, "/tmp/k", ["virtio_pci", "virtio_balloon"]);
 * k.loadOrder // ["virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio", "virtio_pci", "virtio_balloon"]
 */
export function unpackKernel(deb: string, dir: string, wanted: readonly string[]): UnpackedKernel {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  extract(deb, dir, ["*boot/vmlinuz-*", "*/kernel/drivers/virtio/*", ...wanted.map((m) => `*/${m}.ko*`)]);
  const vmlinuz = findFiles(dir, (n) => n.startsWith("vmlinuz-"))[0];
  if (vmlinuz === undefined) throw new MemvirtError("the kernel package holds no boot/vmlinuz-*", { where: "guest image", value: deb });
  const files = new Map<string, string>();
  const scan = () => {
    for (const f of findFiles(dir, (n) => /\.ko(\.(xz|gz|zst))?$/.test(n))) files.set(moduleName(f), f);
  };
  scan();
  const modules = new Map<string, Buffer>();
  const loadOrder: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string, chain: string[]) => {
    if (modules.has(name)) return;
    if (visiting.has(name)) throw new Error(`module dependency cycle: ${[...chain, name].join(" → ")}`);
    if (!files.has(name)) {
      extract(deb, dir, [`*/${name}.ko*`]);
      scan();
    }
    const file = files.get(name);
    if (file === undefined) throw new MemvirtError(`the kernel package has no module ${name}${chain.length ? ` (needed by ${chain[chain.length - 1]})` : ""}`, { where: "guest image", value: deb });
    visiting.add(name);
    const bytes = decompressModule(file);
    for (const dep of moduleDepends(bytes, file)) visit(dep, [...chain, name]);
    visiting.delete(name);
    modules.set(name, bytes);
    loadOrder.push(name);
  };
  for (const name of wanted) visit(name, []);
  return { vmlinuz, modules, loadOrder };
}
