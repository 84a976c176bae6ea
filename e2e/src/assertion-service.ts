import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { AssertionClaims, PomeriumSigner } from "@neosc/auth/testing/pomerium-signer";

export const ASSERTION_KINDS = [
  "valid",
  "expired",
  "wrongAudience",
  "wrongIssuer",
  "otherKey",
  "algNone",
  "hs256WithPublicKey",
  "tampered",
  "withoutExpiry",
] as const;
export type AssertionKind = (typeof ASSERTION_KINDS)[number];

/**
 * The test signer's private key lives in the process that started it (Playwright's runner, or the
 * benchmark); test workers ask this loopback service for assertions instead of sharing the key.
 * `POST /sign { kind, claims }` → the compact JWS as text.
 */
export async function startAssertionService(signer: PomeriumSigner) {
  const server = createServer((request, response) => {
    if (request.method !== "POST" || request.url !== "/sign") {
      response.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      void (async () => {
        try {
          const { kind, claims } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
            kind: AssertionKind;
            claims: AssertionClaims;
          };
          const token =
            kind === "valid" ? await signer.signAssertion(claims) : await signer.forge[kind](claims);
          response.writeHead(200, { "content-type": "text/plain" }).end(token);
        } catch (error) {
          response.writeHead(400, { "content-type": "text/plain" }).end((error as Error).message);
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Asks the assertion service for one assertion (valid or a named forgery). */
export async function requestAssertion(
  serviceUrl: string,
  kind: AssertionKind,
  claims: AssertionClaims,
): Promise<string> {
  const response = await fetch(`${serviceUrl}/sign`, {
    method: "POST",
    body: JSON.stringify({ kind, claims }),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`assertion service: ${response.status} ${text}`);
  return text;
}
