// The `memvirt` Jupyter kernelspec. The committed notebooks name the kernel `memvirt`, so the
// name stays; what it runs depends on which checkout wrote it:
//  - the global one (in `jupyter --data-dir`) is shared by every checkout on the machine, so the
//    last checkout to run setup wins; setup says so loudly when it takes it over from another;
//  - a per-checkout copy under node_modules/ is put first on JUPYTER_PATH for the servers that
//    setup starts itself (`npm start`, and `npm test`'s notebook runs), so those always run this
//    checkout whatever another clone did to the global one.
import * as fs from "node:fs";
import * as path from "node:path";

/** The kernel name the committed notebooks carry in their metadata. */
export const KERNEL_NAME = "memvirt";

/**
 * The kernelspec that runs this checkout's tslab (which hands over to the `node_modules/tslab`
 * above the notebook, so `import … from "memvirt"` resolves to that checkout's build).
 *
 * @param {string} root the checkout
 * @param {string} [nodePath] the node binary (default this one)
 * @example
 * memvirtKernelSpec("/work/main").metadata.memvirt.checkout // "/work/main"
 */
export function memvirtKernelSpec(root, nodePath = process.execPath) {
  return {
    argv: [nodePath, path.join(root, "node_modules", "tslab", "bin", "tslab"), "kernel", "--config-path", "{connection_file}"],
    display_name: "TypeScript (memvirt)",
    language: "typescript",
    metadata: { memvirt: { checkout: root } },
  };
}

/**
 * The Jupyter data folder private to a checkout: put it first on `JUPYTER_PATH` and the kernel
 * `memvirt` is this checkout's. Under node_modules/, which git ignores and `npm ci` recreates
 * (setup writes the kernelspec after `npm ci`).
 *
 * @param {string} root the checkout
 * @example
 * checkoutJupyterPath("/work/main") // "/work/main/node_modules/.memvirt-jupyter"
 */
export function checkoutJupyterPath(root) {
  return path.join(root, "node_modules", ".memvirt-jupyter");
}

/**
 * `JUPYTER_PATH` with the checkout's own data folder first (Jupyter takes the first kernelspec
 * of a name it finds along it, before the user and system folders).
 *
 * @param {string} root the checkout
 * @param {string | undefined} existing the current `JUPYTER_PATH`
 * @example
 * withCheckoutJupyterPath("/work/main", undefined) // "/work/main/node_modules/.memvirt-jupyter"
 */
export function withCheckoutJupyterPath(root, existing) {
  const own = checkoutJupyterPath(root);
  const rest = (existing ?? "").split(path.delimiter).filter((p) => p !== "" && p !== own);
  return [own, ...rest].join(path.delimiter);
}

/**
 * The checkout a kernelspec serves, from its `metadata.memvirt.checkout`; undefined when the
 * spec was not written by memvirt's setup, or is not JSON.
 *
 * @param {string} text kernel.json's text
 * @example
 * specCheckout('{"metadata":{"memvirt":{"checkout":"/a"}}}') // "/a"
 */
export function specCheckout(text) {
  try {
    const checkout = JSON.parse(text)?.metadata?.memvirt?.checkout;
    return typeof checkout === "string" ? checkout : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What writing this checkout's kernelspec over `previousText` does, and the lines to print:
 * one quiet line normally, a loud banner when another checkout loses the kernel.
 *
 * @param {string | undefined} previousText the kernel.json there now, if any
 * @param {string} nextText the kernel.json about to be written
 * @param {string} root this checkout
 * @param {string} file where kernel.json lives
 * @returns {{ status: "new" | "unchanged" | "updated" | "repointed" | "foreign", previousCheckout?: string, lines: string[] }}
 * @example
 * describeKernelChange(oldText, newText, "/b", file).status // "repointed" when oldText served /a
 */
export function describeKernelChange(previousText, nextText, root, file) {
  if (previousText === undefined) {
    return { status: "new", lines: [`kernel "${KERNEL_NAME}": registered at ${file}, serving this checkout (${root})`] };
  }
  if (previousText === nextText) {
    return { status: "unchanged", lines: [`kernel "${KERNEL_NAME}": registered (${file}), serving this checkout (${root})`] };
  }
  const previousCheckout = specCheckout(previousText);
  if (previousCheckout === root) {
    return { status: "updated", previousCheckout, lines: [`kernel "${KERNEL_NAME}": updated at ${file}, serving this checkout (${root})`] };
  }
  const before = previousCheckout === undefined ? `a kernelspec memvirt setup did not write` : `another checkout: ${previousCheckout}`;
  const status = previousCheckout === undefined ? "foreign" : "repointed";
  return {
    status,
    previousCheckout,
    lines: [
      "!".repeat(78),
      `!! The global Jupyter kernel "${KERNEL_NAME}" (${file})`,
      `!!   served ${before}`,
      `!!   and now serves THIS checkout: ${root}`,
      `!! Notebooks opened with this kernel outside memvirt's own servers now start this checkout's tslab.`,
      previousCheckout === undefined ? `!! The replaced kernel.json was:\n${previousText.trimEnd()}` : `!! To give it back, run \`npm run setup\` in ${previousCheckout}.`,
      "!".repeat(78),
    ],
  };
}

/**
 * Write `kernels/memvirt/kernel.json` under a Jupyter data folder (atomically: a reader never
 * sees half a file) and say what changed.
 *
 * @param {string} dataDir a Jupyter data folder (`jupyter --data-dir`, or {@link checkoutJupyterPath})
 * @param {string} root this checkout
 * @param {string} [nodePath] the node binary for the kernel
 * @returns {ReturnType<typeof describeKernelChange> & { file: string }}
 * @example
 * registerKernelSpec(checkoutJupyterPath(root), root).status // "unchanged" on a second run
 */
export function registerKernelSpec(dataDir, root, nodePath = process.execPath) {
  const dir = path.join(dataDir, "kernels", KERNEL_NAME);
  const file = path.join(dir, "kernel.json");
  const text = `${JSON.stringify(memvirtKernelSpec(root, nodePath), null, 2)}\n`;
  const previous = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
  const change = describeKernelChange(previous, text, root, file);
  if (change.status !== "unchanged") {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${file}.tmp`, text);
    fs.renameSync(`${file}.tmp`, file);
  }
  return { ...change, file };
}

/**
 * Which checkout the kernel `memvirt` serves: the first `kernels/memvirt/kernel.json` along
 * Jupyter's data folders (`jupyter --paths --json`, run with the server's environment so that
 * it sees the same JUPYTER_PATH), which is the one Jupyter takes.
 *
 * @param {string[]} dataDirs Jupyter's data folders, first wins
 * @param {string} root this checkout
 * @returns {{ ok: boolean, line: string }} ok when the kernel is this checkout's
 * @example
 * servedKernel(["/work/main/node_modules/.memvirt-jupyter", "/root/.local/share/jupyter"], "/work/main").line
 * // 'kernel "memvirt" serves this checkout: /work/main (/work/main/node_modules/.memvirt-jupyter/kernels/memvirt)'
 */
export function servedKernel(dataDirs, root) {
  for (const dataDir of dataDirs) {
    const dir = path.join(dataDir, "kernels", KERNEL_NAME);
    let text;
    try {
      text = fs.readFileSync(path.join(dir, "kernel.json"), "utf8");
    } catch {
      continue;
    }
    const checkout = specCheckout(text);
    if (checkout === root) return { ok: true, line: `kernel "${KERNEL_NAME}" serves this checkout: ${root} (${dir})` };
    const other = checkout === undefined ? "a kernelspec memvirt setup did not write" : `another checkout, ${checkout}`;
    return { ok: false, line: `WARNING: kernel "${KERNEL_NAME}" serves ${other}, not this checkout ${root} (${dir})` };
  }
  return { ok: false, line: `WARNING: Jupyter finds no kernel "${KERNEL_NAME}" in ${dataDirs.join(", ")}; the notebooks will not start` };
}
