import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { generatePomeriumConfig } from "../src/pomerium.ts";
import { EXAMPLE } from "./zitadel.ts";

const DEPLOY_DIR = fileURLToPath(new URL("..", import.meta.url));
const TSX = join(DEPLOY_DIR, "node_modules", ".bin", "tsx");
const scratch = mkdtempSync(join(tmpdir(), "neosc-deploy-cli-"));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(TSX, ["src/cli.ts", ...args], {
    cwd: DEPLOY_DIR,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

// Each case starts tsx (about a second on a busy machine).
describe("pomerium CLI", { timeout: 60_000 }, () => {
  it("prints the generated config for a domain", () => {
    const result = cli(["--domain", "kappa4.com", "--zitadel-project-id", EXAMPLE.projectId]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      generatePomeriumConfig({ domain: "kappa4.com", zitadelProjectId: EXAMPLE.projectId }).yaml,
    );
  });

  it("writes --out relative to the directory pnpm was started in", () => {
    const result = cli(
      ["--domain", "example.org", "--mode", "zitadel-roles", "--target", "kubernetes"].concat([
        "--zitadel-org-id",
        EXAMPLE.orgId,
        "--zitadel-org-domain",
        "org.example.org",
        "--out",
        "out/config.yaml",
      ]),
      { INIT_CWD: scratch },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("warning: no --zitadel-project-id");
    const written = readFileSync(join(scratch, "out", "config.yaml"), "utf8");
    expect(written).toContain("from: https://admin.portal.example.org");
    expect(written).toContain(
      `claim/urn:zitadel:iam:org:project:roles.admin.${EXAMPLE.orgId}: org.example.org`,
    );
  });

  it("refuses a missing domain and unknown flags with usage", () => {
    const missing = cli([]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--domain is required");

    const unknown = cli(["--domain", "kappa4.com", "--frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Usage:");
  });

  it("refuses invalid option values with a message", () => {
    const noOrg = cli(["--domain", "kappa4.com", "--mode", "zitadel-roles"]);
    expect(noOrg.code).toBe(1);
    expect(noOrg.stderr).toContain("zitadelOrgId is required in zitadel-roles mode");

    const badDomain = cli(["--domain", "https://kappa4.com"]);
    expect(badDomain.code).toBe(1);
    expect(badDomain.stderr).toContain("domain");
  });
});
