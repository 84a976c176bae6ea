import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { DEPLOY_TARGETS, generatePomeriumConfig, ROLE_MATCH_MODES } from "./pomerium.ts";

const USAGE = `Usage: pnpm --filter @neosc/deploy pomerium --domain <domain> [options]

Writes Pomerium's config.yaml for a NeoSC deployment to stdout (or --out).

  --domain <d>               public domain, e.g. kappa4.com (hosts: gate., portal., api.portal., ...)
  --mode <m>                 ${ROLE_MATCH_MODES.join(" | ")} (default flat-claim)
  --target <t>               ${DEPLOY_TARGETS.join(" | ")} (default compose)
  --issuer <url>             Zitadel issuer (default https://manager.<domain>)
  --zitadel-project-id <id>  NeoSC project id: requests the project :aud scope
  --zitadel-org-id <id>      zitadel-roles mode: organization whose role grants count
  --zitadel-org-domain <d>   zitadel-roles mode: that organization's primary domain
  --out <file>               write here instead of stdout (relative to where pnpm was started)
  --help`;

function main(): number {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse().values;
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.domain) {
    process.stderr.write(`--domain is required\n\n${USAGE}\n`);
    return 2;
  }

  let generated: ReturnType<typeof generatePomeriumConfig>;
  try {
    generated = generatePomeriumConfig({
      domain: values.domain,
      mode: values.mode as (typeof ROLE_MATCH_MODES)[number] | undefined,
      target: values.target as (typeof DEPLOY_TARGETS)[number] | undefined,
      issuer: values.issuer,
      zitadelProjectId: values["zitadel-project-id"],
      zitadelOrgId: values["zitadel-org-id"],
      zitadelOrgDomain: values["zitadel-org-domain"],
    });
  } catch (error) {
    const message =
      error instanceof z.ZodError
        ? error.issues.map((issue) => `${issue.path.join(".") || "options"}: ${issue.message}`).join("\n")
        : error instanceof Error
          ? error.message
          : String(error);
    process.stderr.write(`${message}\n`);
    return 1;
  }

  for (const warning of generated.warnings) process.stderr.write(`warning: ${warning}\n`);
  if (values.out) {
    // pnpm runs package scripts inside deploy/; resolve --out against the caller's directory.
    const target = resolve(process.env.INIT_CWD ?? process.cwd(), values.out);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, generated.yaml);
    process.stderr.write(`wrote ${target}\n`);
  } else {
    process.stdout.write(generated.yaml);
  }
  return 0;
}

function parse() {
  return parseArgs({
    options: {
      domain: { type: "string" },
      mode: { type: "string" },
      target: { type: "string" },
      issuer: { type: "string" },
      "zitadel-project-id": { type: "string" },
      "zitadel-org-id": { type: "string" },
      "zitadel-org-domain": { type: "string" },
      out: { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
}

process.exitCode = main();
