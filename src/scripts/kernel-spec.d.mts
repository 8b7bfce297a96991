export declare const KERNEL_NAME: "memvirt";
export interface MemvirtKernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  metadata: { memvirt: { checkout: string } };
}
export declare function memvirtKernelSpec(root: string, nodePath?: string): MemvirtKernelSpec;
export declare function checkoutJupyterPath(root: string): string;
export declare function withCheckoutJupyterPath(root: string, existing: string | undefined): string;
export declare function specCheckout(text: string): string | undefined;
export interface KernelChange {
  status: "new" | "unchanged" | "updated" | "repointed" | "foreign";
  previousCheckout?: string;
  lines: string[];
}
export declare function describeKernelChange(previousText: string | undefined, nextText: string, root: string, file: string): KernelChange;
export declare function registerKernelSpec(dataDir: string, root: string, nodePath?: string): KernelChange & { file: string };
export declare function servedKernel(dataDirs: string[], root: string): { ok: boolean; line: string };
