import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name: string | null;
  instructions: Instruction[];
}

const ROOT = new URL("../../", import.meta.url);

/** Splits a Dockerfile into stages of instructions (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (current === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = "";
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword = "", ...rest] = line.split(/\s+/);
    const args = rest.join(" ");
    if (keyword.toUpperCase() === "FROM") {
      const [image = "", as, name] = args.split(/\s+/);
      stages.push({
        from: image,
        name: as?.toUpperCase() === "AS" ? (name ?? null) : null,
        instructions: [],
      });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${keyword} before FROM`);
      stage.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

const DOCKERFILES = ["api", "portal", "gateway"].map((name) => {
  const path = new URL(`../docker/${name}.Dockerfile`, import.meta.url);
  return {
    name,
    path,
    text: readFileSync(path, "utf8"),
    stages: parseDockerfile(readFileSync(path, "utf8")),
  };
});

/** Every workspace package directory (from pnpm-workspace.yaml) that has a package.json. */
function workspacePackages(): string[] {
  const workspace = parse(readFileSync(new URL("pnpm-workspace.yaml", ROOT), "utf8")) as {
    packages: string[];
  };
  const dirs: string[] = [];
  for (const pattern of workspace.packages) {
    if (pattern.endsWith("/*")) {
      const parent = pattern.slice(0, -2);
      for (const entry of readdirSync(new URL(`${parent}/`, ROOT), { withFileTypes: true })) {
        if (entry.isDirectory() && existsSync(new URL(`${parent}/${entry.name}/package.json`, ROOT))) {
          dirs.push(`${parent}/${entry.name}`);
        }
      }
    } else if (existsSync(new URL(`${pattern}/package.json`, ROOT))) {
      dirs.push(pattern);
    }
  }
  return dirs.sort();
}

describe.each(DOCKERFILES)("$name.Dockerfile", ({ name, text, stages }) => {
  const final = stages.at(-1);
  if (!final) throw new Error("no stage");
  const finalKeywords = final.instructions.map((instruction) => instruction.keyword);

  it("is multi-stage on pinned Node base images", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      expect(stage.from).toMatch(/^[a-z0-9./-]+:[0-9][\w.-]*$/);
      expect(stage.from).not.toMatch(/:latest$/);
      expect(stage.from).toBe("node:20.20-bookworm-slim");
    }
  });

  it("runs its final stage as a numeric non-root user", () => {
    const users = final.instructions.filter((instruction) => instruction.keyword === "USER");
    expect(users).toHaveLength(1);
    const [user = ""] = users.map((instruction) => instruction.args);
    expect(user).toMatch(/^[1-9]\d*(?::[1-9]\d*)?$/);
    expect(finalKeywords.lastIndexOf("USER")).toBeLessThan(finalKeywords.lastIndexOf("CMD"));
  });

  it("installs nothing in the final stage (no dev dependencies, no package manager)", () => {
    const runs = final.instructions.filter((instruction) => instruction.keyword === "RUN");
    expect(runs).toEqual([]);
    for (const instruction of final.instructions.filter((candidate) => candidate.keyword === "COPY")) {
      if (name !== "portal" && instruction.args.includes("--from="))
        expect(instruction.args).toMatch(/--from=build \/out\//);
    }
  });

  it("checks health on the service's own /healthz", () => {
    const healthcheck = final.instructions.find((instruction) => instruction.keyword === "HEALTHCHECK");
    expect(healthcheck?.args).toContain(`'/healthz'`);
    expect(healthcheck?.args).toContain({ api: "8080", gateway: "8081", portal: "3000" }[name] ?? "");
  });

  it("installs from the lockfile with every workspace manifest present", () => {
    const build = stages[0];
    const install = build?.instructions.find((instruction) => instruction.args.includes("pnpm install"));
    expect(install?.args).toContain("--frozen-lockfile");
    const copied = (build?.instructions ?? [])
      .filter((instruction) => instruction.keyword === "COPY" && instruction.args.includes("/package.json"))
      .map((instruction) => instruction.args.split(/\s+/)[0]?.replace(/\/package\.json$/, ""));
    expect(copied.sort()).toEqual(workspacePackages());
    expect(text).toContain("pnpm@10.34.9");
  });

  it("keeps host node_modules and secrets out of the build context", () => {
    const ignore = readFileSync(
      new URL(`../docker/${name}.Dockerfile.dockerignore`, import.meta.url),
      "utf8",
    );
    for (const pattern of ["**/node_modules", "**/dist", ".git", "**/.env"])
      expect(ignore).toContain(pattern);
  });

  it("starts the right program", () => {
    const cmd = final.instructions.find((instruction) => instruction.keyword === "CMD")?.args;
    const program = { api: "dist/server.mjs", gateway: "dist/gateway.mjs", portal: "server.mjs" }[name];
    expect(cmd).toBe(`["node", "${program}"]`);
  });
});

describe("root package manager pin", () => {
  it("matches the pnpm the Dockerfiles install", () => {
    const rootPackage = JSON.parse(readFileSync(new URL("package.json", ROOT), "utf8")) as {
      packageManager: string;
    };
    expect(rootPackage.packageManager).toBe("pnpm@10.34.9");
  });
});
