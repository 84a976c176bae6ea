/**
 * IPv4/IPv6 address and CIDR matching for the ip-allowlist policy, without a dependency.
 * Addresses are compared as integers; an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a
 * dual-stack socket reports for an IPv4 client) is treated as the IPv4 address it carries.
 */

export interface ParsedAddress {
  version: 4 | 6;
  value: bigint;
}

const IPV4_MAPPED_PREFIX = 0xffffn << 32n;

function parseIpv4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^(?:0|[1-9]\d{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseHextets(text: string): number[] | null {
  if (text === "") return [];
  const groups: number[] = [];
  for (const group of text.split(":")) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
    groups.push(Number.parseInt(group, 16));
  }
  return groups;
}

function parseIpv6(input: string): bigint | null {
  let text = input;
  const zone = text.indexOf("%");
  if (zone !== -1) text = text.slice(0, zone);
  if (text.length === 0 || text.length > 45) return null;

  // A trailing dotted quad stands for the last two hextets.
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [Number(v4 >> 16n), Number(v4 & 0xffffn)];
    text = text.slice(0, lastColon + 1);
    if (text.endsWith(":") && !text.endsWith("::")) text = text.slice(0, -1);
  }

  const doubleColon = text.indexOf("::");
  let groups: number[];
  if (doubleColon === -1) {
    const all = parseHextets(text);
    if (all === null) return null;
    groups = [...all, ...tail];
    if (groups.length !== 8) return null;
  } else {
    if (text.indexOf("::", doubleColon + 1) !== -1) return null;
    const head = parseHextets(text.slice(0, doubleColon));
    const rest = parseHextets(text.slice(doubleColon + 2));
    if (head === null || rest === null) return null;
    const known = head.length + rest.length + tail.length;
    if (known > 7) return null;
    groups = [...head, ...new Array<number>(8 - known).fill(0), ...rest, ...tail];
  }

  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(group);
  return value;
}

/** Parses an IP address; IPv4-mapped IPv6 addresses come back as IPv4. Null when malformed. */
export function parseAddress(input: string): ParsedAddress | null {
  const text = input.trim();
  if (text.length === 0 || text.length > 64) return null;
  if (!text.includes(":")) {
    const v4 = parseIpv4(text);
    return v4 === null ? null : { version: 4, value: v4 };
  }
  const unbracketed = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const v6 = parseIpv6(unbracketed);
  if (v6 === null) return null;
  if (v6 >> 32n === IPV4_MAPPED_PREFIX >> 32n) return { version: 4, value: v6 & 0xffffffffn };
  return { version: 6, value: v6 };
}

export interface ParsedCidr {
  version: 4 | 6;
  network: bigint;
  prefix: number;
}

/** Parses `address/prefix`; a bare address is a single-host block. Null when malformed. */
export function parseCidr(input: string): ParsedCidr | null {
  const slash = input.indexOf("/");
  const addressText = slash === -1 ? input : input.slice(0, slash);
  const prefixText = slash === -1 ? null : input.slice(slash + 1);
  const trimmed = addressText.trim();
  if (trimmed.length === 0) return null;

  // Parse without the IPv4-mapped folding first, so `::ffff:0:0/96` keeps its IPv6 meaning.
  const isV6 = trimmed.includes(":");
  const raw = isV6 ? parseIpv6(trimmed) : parseIpv4(trimmed);
  if (raw === null) return null;
  const bits = isV6 ? 128 : 32;

  let prefix = bits;
  if (prefixText !== null) {
    if (!/^\d{1,3}$/.test(prefixText.trim())) return null;
    prefix = Number(prefixText.trim());
    if (prefix > bits) return null;
  }

  let version: 4 | 6 = isV6 ? 6 : 4;
  let network = raw & prefixMask(bits, prefix);
  if (isV6 && prefix >= 96 && raw >> 32n === IPV4_MAPPED_PREFIX >> 32n) {
    version = 4;
    network &= 0xffffffffn;
    prefix -= 96;
  }
  return { version, network, prefix };
}

function prefixMask(bits: number, prefix: number): bigint {
  if (prefix === 0) return 0n;
  const all = (1n << BigInt(bits)) - 1n;
  return (all >> BigInt(bits - prefix)) << BigInt(bits - prefix);
}

export function cidrContains(cidr: ParsedCidr, address: ParsedAddress): boolean {
  if (cidr.version !== address.version) return false;
  const bits = cidr.version === 4 ? 32 : 128;
  return (address.value & prefixMask(bits, cidr.prefix)) === cidr.network;
}

/** True when `ip` lies in at least one of `cidrs`. Malformed entries never match. */
export function ipInAnyCidr(ip: string | null, cidrs: readonly string[]): boolean {
  if (ip === null) return false;
  const address = parseAddress(ip);
  if (address === null) return false;
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (cidr !== null && cidrContains(cidr, address)) return true;
  }
  return false;
}
