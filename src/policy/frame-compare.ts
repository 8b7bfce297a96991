/**
 * The full comparison of a page with a shared frame, before a merge: content ids first, then,
 * when the pages carry real bytes, the bytes of a page that still maps the frame (a snapshot's
 * content ids are its hashes, so equal ids alone may be a collision).
 */
import { HostControl, VmView } from "../host/host-policy";
import { SHARED } from "../host/page-state";

/**
 * Whether page `ppn` of `vm` holds what shared frame `frame` holds (O(guest pages) with bytes).
 *
 * @example
 * if (sameAsSharedFrame(host, vm, ppn, f)) host.sharePage!(vm.index, ppn, f);
 */
export function sameAsSharedFrame(host: HostControl, vm: VmView, ppn: number, frame: number): boolean {
  const contents = vm.contents!;
  if (host.shared!.content(frame) !== contents.read(ppn)) return false;
  if (!contents.bytes) return true;
  for (const o of host.vms) {
    if (!o.p2m || !o.contents) continue;
    const p2m = o.p2m;
    for (let i = 0; i < p2m.length; i++) if (p2m[i] === frame && o.hstate[i] === SHARED) return contents.sameAs(ppn, o.contents, i);
  }
  return false;
}
