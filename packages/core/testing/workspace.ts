import type { Workspace } from "../src/workspace.ts";

/** A catalogue entry for tests: a local Debian desktop unless `overrides` say otherwise. */
export function testWorkspace(overrides: Partial<Workspace> = {}): Workspace {
  const now = new Date();
  return {
    id: crypto.randomUUID(),
    slug: "debian-desktop",
    name: "Debian desktop",
    description: "",
    kind: "desktop",
    image: null,
    url: null,
    driver: "local",
    program: "desktop",
    target: null,
    sshTarget: null,
    hasVncPassword: false,
    hasSshCredential: false,
    cpu: 1,
    memoryMb: 1024,
    warm: 0,
    allowedRoles: ["user"],
    organizationId: null,
    enabled: true,
    tags: [],
    recording: null,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}
