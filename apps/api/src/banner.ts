import type { BootstrapOutcome } from "./bootstrap.ts";

/*
 * What a person who ran `pnpm start` in a terminal needs once the API is ready: where to open it,
 * how to sign in, where the data is, how to stop. Printed only with human log lines (a terminal);
 * the JSON "neosc api listening" entry carries the same facts for machines.
 */

export interface ReadyFacts {
  url: string;
  /** NEOSC_PUBLIC_URL, shown when people reach the API through another address. */
  publicUrl: string;
  adminEmail: string;
  bootstrap: BootstrapOutcome;
  /** Whether NEOSC_ADMIN_PASSWORD is set (never its value). */
  adminPasswordConfigured: boolean;
  /** The Zitadel issuer, when single sign-on is configured. */
  oidcIssuer: string | null;
  dataDir: string;
  recordingsDir: string;
  embeddedDatabase: boolean;
  /** MONGO_DB_NAME or the driver's default, with MONGO_URL. */
  databaseName: string | null;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

function signInText(facts: ReadyFacts): string[] {
  switch (facts.bootstrap) {
    case "generated":
      return [
        `${facts.adminEmail} with the password printed above (shown once;`,
        "you choose your own at the first sign-in)",
      ];
    case "configured":
      return [`${facts.adminEmail} with the password in NEOSC_ADMIN_PASSWORD`];
    case "existing":
      return facts.adminPasswordConfigured
        ? [
            `an admin account (the first one: ${facts.adminEmail}, password in NEOSC_ADMIN_PASSWORD`,
            "unless it was changed)",
          ]
        : [
            `an admin account (the first one: ${facts.adminEmail}; its password was printed`,
            "at the first start, or is the one chosen since)",
          ];
    case "blocked":
      return [
        `no admin exists and ${facts.adminEmail} belongs to a non-admin:`,
        "set NEOSC_ADMIN_EMAIL to a new address and start again",
      ];
  }
}

/** The banner's text (plain, so it reads the same in any terminal and in a test). */
export function readyBanner(facts: ReadyFacts): string {
  const listening = new URL(facts.url);
  const published = new URL(facts.publicUrl);
  // The default (listen on 127.0.0.1:8080, public http://localhost:8080) is one address: open
  // the public one, which the portal's sign-in and origin checks expect.
  const sameMachine =
    LOOPBACK.has(published.hostname) && LOOPBACK.has(listening.hostname) && published.port === listening.port;
  const rows: [string, string[]][] = [["Open", [sameMachine ? facts.publicUrl : facts.url]]];
  if (!sameMachine && published.origin !== listening.origin) rows.push(["Public URL", [facts.publicUrl]]);
  const signIn = signInText(facts);
  if (facts.oidcIssuer !== null) signIn.push(`or with single sign-on (${facts.oidcIssuer})`);
  rows.push(["Sign in", signIn]);
  rows.push([
    "Data",
    facts.embeddedDatabase
      ? [`${facts.dataDir} (database, session secret)`, `recordings in ${facts.recordingsDir}`]
      : [
          `the MongoDB in MONGO_URL${facts.databaseName === null ? "" : ` (database ${facts.databaseName})`}`,
          `recordings in ${facts.recordingsDir}`,
        ],
  ]);
  rows.push(["Stop", ["Ctrl+C (once: finish open requests and stop; twice: at once)"]]);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = rows.flatMap(([label, values]) =>
    values.map((value, index) => `  ${(index === 0 ? label : "").padEnd(width)}${value}`),
  );
  return ["", "  NeoSC is ready", "", ...lines, "", ""].join("\n");
}
