/**
 * The page-sharing configuration `{ scanner: "esx" | "ksm", …parameters }` (experiment JSON
 * `host.sharing`), turned into a scanner policy. The host never imports a policy, so in code pass
 * the result to the host: `new Host({ …, policies: [createSharingPolicy({ scanner: "ksm" })] })`.
 */
import { MemvirtError, pathJoin } from "../util/errors";
import { HostPolicy } from "../host/host-policy";
import { EsxSharing, EsxSharingParams } from "./esx-sharing";
import { KsmSharing, KsmSharingParams } from "./ksm-sharing";

/** Which scanner, with its parameters. */
export type SharingOptions = ({ scanner: "esx" } & EsxSharingParams) | ({ scanner: "ksm" } & KsmSharingParams);

/**
 * The scanner a sharing configuration names.
 *
 * @example
 * const host = new Host({ memory: "2 GiB", policies: [createSharingPolicy({ scanner: "ksm", pagesToScan: 1000 })] });
 */
export function createSharingPolicy(options: unknown, where = "sharing"): HostPolicy & (EsxSharing | KsmSharing) {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new MemvirtError("must be an object such as {\"scanner\": \"esx\"} or {\"scanner\": \"ksm\", \"pagesToScan\": 100}", { where, value: options });
  }
  const { scanner, ...params } = options as Record<string, unknown>;
  if (scanner === "esx") return new EsxSharing(params as EsxSharingParams, where);
  if (scanner === "ksm") return new KsmSharing(params as KsmSharingParams, where);
  throw new MemvirtError("must be \"esx\" or \"ksm\"", { where: pathJoin(where, "scanner"), value: scanner });
}
