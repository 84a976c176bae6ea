import { describe, expect, it } from "vitest";
import { PROCEDURE_ACCESS } from "../src/permissions.ts";
import {
  DEFAULT_POLICIES,
  POLICY_KEYS,
  POLICY_SETTINGS_SCHEMAS,
  UpdatePolicyInputSchema,
} from "../src/policy.ts";
import { hasRole, highestRole, ROLES } from "../src/roles.ts";
import { CreateWorkspaceInputSchema, UpdateWorkspaceInputSchema } from "../src/workspace.ts";

describe("roles", () => {
  it("orders admin > neosc > user", () => {
    expect(hasRole("admin", "neosc")).toBe(true);
    expect(hasRole("neosc", "user")).toBe(true);
    expect(hasRole("user", "neosc")).toBe(false);
    expect(hasRole("neosc", "admin")).toBe(false);
    expect(highestRole(["user", "admin", "neosc"])).toBe("admin");
    expect(highestRole([])).toBeUndefined();
  });

  it("gives every procedure a known access level", () => {
    for (const [path, access] of Object.entries(PROCEDURE_ACCESS)) {
      expect([...ROLES, "public"], path).toContain(access);
    }
  });
});

describe("policies", () => {
  it("seeds defaults that satisfy their own settings schemas", () => {
    for (const key of POLICY_KEYS) {
      expect(POLICY_SETTINGS_SCHEMAS[key].safeParse(DEFAULT_POLICIES[key].settings).success, key).toBe(true);
    }
  });

  it("rejects settings out of bounds and names the field", () => {
    const result = UpdatePolicyInputSchema.safeParse({
      key: "max-concurrent-sessions",
      settings: { limit: 0 },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["settings", "limit"]);
  });

  it("rejects an unknown time zone and inverted access hours", () => {
    const zone = UpdatePolicyInputSchema.safeParse({
      key: "access-hours",
      settings: { timeZone: "Mars/Olympus", days: [1], start: "08:00", end: "17:00" },
    });
    expect(zone.success).toBe(false);
    const inverted = UpdatePolicyInputSchema.safeParse({
      key: "access-hours",
      settings: { timeZone: "Europe/Berlin", days: [1], start: "17:00", end: "08:00" },
    });
    expect(inverted.success).toBe(false);
  });

  it("accepts IPv4 and IPv6 CIDRs only", () => {
    const schema = POLICY_SETTINGS_SCHEMAS["ip-allowlist"];
    expect(schema.safeParse({ cidrs: ["10.0.0.0/8", "2001:db8::/32"] }).success).toBe(true);
    expect(schema.safeParse({ cidrs: ["10.0.0.0/33"] }).success).toBe(false);
    expect(schema.safeParse({ cidrs: ["not-a-cidr"] }).success).toBe(false);
  });
});

describe("workspaces", () => {
  const base = { slug: "wiki", name: "Wiki", allowedRoles: ["user"] };

  it("needs a URL for web workspaces and an image otherwise", () => {
    expect(CreateWorkspaceInputSchema.safeParse({ ...base, kind: "web" }).error?.issues[0]?.path).toEqual([
      "url",
    ]);
    expect(CreateWorkspaceInputSchema.safeParse({ ...base, kind: "desktop" }).error?.issues[0]?.path).toEqual(
      ["image"],
    );
    expect(
      CreateWorkspaceInputSchema.safeParse({ ...base, kind: "web", url: "https://wiki.example.com" }).success,
    ).toBe(true);
  });

  it("runs a Kubernetes workspace from its image, CPU and memory, and never as a terminal", () => {
    const pod = { ...base, kind: "desktop", driver: "kubernetes", cpu: 2, memoryMb: 4096 };
    expect(CreateWorkspaceInputSchema.safeParse(pod).error?.issues).toEqual([
      expect.objectContaining({ path: ["image"], message: "a Kubernetes workspace needs a container image" }),
    ]);
    expect(CreateWorkspaceInputSchema.parse({ ...pod, image: "kasmweb/firefox:1.16.0" })).toMatchObject({
      driver: "kubernetes",
      image: "kasmweb/firefox:1.16.0",
      cpu: 2,
      memoryMb: 4096,
    });
    expect(
      CreateWorkspaceInputSchema.safeParse({ ...pod, image: "kasmweb/firefox:1.16.0", cpu: 0.1 }).error
        ?.issues[0]?.path,
    ).toEqual(["cpu"]);
    expect(
      CreateWorkspaceInputSchema.safeParse({ ...pod, kind: "terminal", image: "debian:12" }).error?.issues[0]
        ?.path,
    ).toEqual(["driver"]);
  });

  it("refuses unknown fields and script URLs", () => {
    expect(
      CreateWorkspaceInputSchema.safeParse({ ...base, kind: "web", url: "https://a.example", role: "admin" })
        .success,
    ).toBe(false);
    expect(
      CreateWorkspaceInputSchema.safeParse({ ...base, kind: "web", url: "javascript:alert(1)" }).success,
    ).toBe(false);
  });
});

describe("workspace update patch", () => {
  it("carries only the fields the caller sent (no defaults filled in)", () => {
    const parsed = UpdateWorkspaceInputSchema.parse({
      id: "7b0b1f5e-7a35-4d2c-9c43-8b7d1b0c9f10",
      patch: { name: "Renamed" },
    });
    expect(parsed.patch).toEqual({ name: "Renamed" });
  });
});
