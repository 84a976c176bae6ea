import type { CreateWorkspaceInput } from "@neosc/core/workspace";
import type { CatalogueAddresses } from "../../context.ts";

const local = {
  image: null,
  url: null,
  driver: "local",
  target: null,
  organizationId: null,
  enabled: true,
  warm: 0,
} as const;

/** The embedded default's ports, for a catalogue built without this install's configuration. */
export const DEFAULT_CATALOGUE_ADDRESSES: CatalogueAddresses = { apiPort: 8080, inspectorPort: 8090 };

/**
 * The catalogue `workspace.reset` restores: only workspaces this install can really start (the
 * local driver's sandboxes, see packages/provisioner; web apps that run on the install itself,
 * reached through the gateway's web proxy). Role restrictions differ on purpose so
 * that signing in as user, neosc or admin shows visibly different launchers.
 */
export function defaultCatalogue(addresses: CatalogueAddresses): CreateWorkspaceInput[] {
  const catalogue: CreateWorkspaceInput[] = [
    {
      ...local,
      slug: "linux-desktop",
      name: "Linux Desktop",
      description: "A Debian desktop with a terminal and a file manager, in the browser.",
      kind: "desktop",
      program: "desktop",
      cpu: 2,
      memoryMb: 4096,
      // The desktop most people launch opens at once (a sandbox started ahead on each host).
      warm: 1,
      allowedRoles: ["user", "neosc", "admin"],
      tags: ["linux", "desktop"],
    },
    {
      ...local,
      slug: "firefox",
      name: "Firefox",
      description: "An isolated Firefox browser for untrusted sites.",
      kind: "app",
      program: "firefox",
      cpu: 1,
      memoryMb: 2048,
      allowedRoles: ["user", "neosc", "admin"],
      tags: ["browser"],
    },
    {
      slug: "api-docs",
      name: "API reference",
      description: "NeoSC's own REST API reference, reached through the portal.",
      kind: "web",
      image: null,
      url: `http://localhost:${addresses.apiPort}/api/docs`,
      cpu: 0.25,
      memoryMb: 256,
      warm: 0,
      allowedRoles: ["user", "neosc", "admin"],
      organizationId: null,
      enabled: true,
      tags: ["docs", "web"],
    },
    {
      ...local,
      slug: "dev-terminal",
      name: "Dev Terminal",
      description: "A shell in a sandbox of its own, in the browser's terminal.",
      kind: "terminal",
      program: "shell",
      cpu: 1,
      memoryMb: 2048,
      allowedRoles: ["user", "neosc", "admin"],
      tags: ["development"],
    },
    {
      slug: "inspector",
      name: "Request Inspector",
      description: "An internal web app of this install: shows what reaches an app through the gateway.",
      kind: "web",
      image: null,
      // The embedded default starts it on this loopback port.
      url: `http://127.0.0.1:${addresses.inspectorPort}/`,
      cpu: 0.25,
      memoryMb: 256,
      warm: 0,
      allowedRoles: ["neosc", "admin"],
      organizationId: null,
      enabled: true,
      tags: ["diagnostics", "web"],
    },
    {
      ...local,
      slug: "admin-desktop",
      name: "Admin Desktop",
      description: "A desktop for administrators.",
      kind: "desktop",
      program: "desktop",
      cpu: 2,
      memoryMb: 4096,
      allowedRoles: ["admin"],
      tags: ["admin", "security"],
    },
    {
      ...local,
      slug: "terminal",
      name: "Admin Terminal",
      description: "A shell for operators.",
      kind: "terminal",
      program: "shell",
      cpu: 0.5,
      memoryMb: 1024,
      allowedRoles: ["admin"],
      tags: ["admin"],
    },
  ];
  // Without its inspector the install has nothing at that address; an entry would only fail.
  return addresses.inspectorPort === 0 ? catalogue.filter((w) => w.slug !== "inspector") : catalogue;
}
