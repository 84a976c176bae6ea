import { BlockList, isIP } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ipInAnyCidr, parseAddress, parseCidr } from "../../../src/domain/policies/cidr.ts";

describe("parseAddress", () => {
  it.each([
    ["10.1.2.3", 4],
    ["255.255.255.255", 4],
    ["::1", 6],
    ["2001:db8::8a2e:370:7334", 6],
    ["2001:0db8:0000:0000:0000:ff00:0042:8329", 6],
    ["fe80::1%eth0", 6],
    ["[2001:db8::1]", 6],
    ["::ffff:192.168.1.10", 4],
    ["64:ff9b::10.0.0.1", 6],
  ])("accepts %s as IPv%i", (text, version) => {
    expect(parseAddress(text)?.version).toBe(version);
  });

  it.each([
    "",
    "10.0.0",
    "10.0.0.256",
    "010.0.0.1",
    "1.2.3.4.5",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "12345::",
    "1:2:3:4:5:6:7::8",
    "::g",
    ":1::",
    "1::2:",
    "10.0.0.1/8",
    "localhost",
  ])("rejects %j", (text) => {
    expect(parseAddress(text)).toBeNull();
  });

  it("folds an IPv4-mapped IPv6 address onto the IPv4 value", () => {
    expect(parseAddress("::ffff:10.0.0.1")).toEqual(parseAddress("10.0.0.1"));
    expect(parseAddress("::ffff:a00:1")).toEqual(parseAddress("10.0.0.1"));
  });
});

describe("parseCidr", () => {
  it("masks host bits and keeps the prefix", () => {
    expect(parseCidr("10.1.2.3/8")).toEqual({ version: 4, network: 10n << 24n, prefix: 8 });
    expect(parseCidr("2001:db8::/32")?.prefix).toBe(32);
  });

  it("treats a bare address as a single host", () => {
    expect(parseCidr("192.168.0.1")?.prefix).toBe(32);
    expect(parseCidr("::1")?.prefix).toBe(128);
  });

  it("rejects prefixes beyond the address width and junk", () => {
    expect(parseCidr("10.0.0.0/33")).toBeNull();
    expect(parseCidr("::/129")).toBeNull();
    expect(parseCidr("10.0.0.0/-1")).toBeNull();
    expect(parseCidr("10.0.0.0/")).toBeNull();
    expect(parseCidr("/8")).toBeNull();
  });
});

describe("ipInAnyCidr", () => {
  const list = ["10.0.0.0/8", "192.168.1.0/24", "2001:db8:abcd::/48", "::1/128"];

  it.each([
    ["10.255.0.1", true],
    ["11.0.0.1", false],
    ["192.168.1.200", true],
    ["192.168.2.1", false],
    ["::ffff:10.9.8.7", true],
    ["::ffff:172.16.0.1", false],
    ["2001:db8:abcd:12::1", true],
    ["2001:db8:abce::1", false],
    ["::1", true],
    ["::2", false],
    ["not an ip", false],
  ])("%s → %s", (ip, expected) => {
    expect(ipInAnyCidr(ip, list)).toBe(expected);
  });

  it("never matches a missing client address", () => {
    expect(ipInAnyCidr(null, ["0.0.0.0/0", "::/0"])).toBe(false);
  });

  it("matches everything of one family with a /0 block, and nothing of the other", () => {
    expect(ipInAnyCidr("203.0.113.9", ["0.0.0.0/0"])).toBe(true);
    expect(ipInAnyCidr("2001:db8::1", ["0.0.0.0/0"])).toBe(false);
    expect(ipInAnyCidr("2001:db8::1", ["::/0"])).toBe(true);
  });

  it("lets an IPv4-mapped block match IPv4 clients", () => {
    expect(ipInAnyCidr("10.0.0.5", ["::ffff:10.0.0.0/104"])).toBe(true);
    expect(ipInAnyCidr("11.0.0.5", ["::ffff:10.0.0.0/104"])).toBe(false);
  });
});

describe("agreement with node:net", () => {
  it("parses every address fast-check generates, as node:net classifies it", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 })), (text) => {
        const parsed = parseAddress(text);
        if (isIP(text) === 0) expect(parsed).toBeNull();
        else expect(parsed).not.toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it("matches the same addresses as net.BlockList subnets", () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.ipV6(), fc.integer({ min: 0, max: 128 }), (network, address, prefix) => {
        fc.pre(!network.includes(".") && !address.includes("."));
        const list = new BlockList();
        list.addSubnet(network, prefix, "ipv6");
        expect(ipInAnyCidr(address, [`${network}/${prefix}`])).toBe(list.check(address, "ipv6"));
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 32 }), (network, address, prefix) => {
        const list = new BlockList();
        list.addSubnet(network, prefix, "ipv4");
        expect(ipInAnyCidr(address, [`${network}/${prefix}`])).toBe(list.check(address, "ipv4"));
      }),
      { numRuns: 1000 },
    );
  });
});
