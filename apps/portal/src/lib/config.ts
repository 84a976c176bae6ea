/**
 * What the portal learns at start from `/config.json`. The embedded host serves the portal and
 * the API from one origin (API base ""), while the split-host production layout writes this file
 * into the portal container, so nothing host-specific is baked into the bundle.
 *
 * Parsed by hand rather than with zod: this runs before the first paint of the sign-in page,
 * which should not have to download a schema library.
 */
export interface RuntimeConfig {
  /** Origin of the API (`https://api.portal.example.com`); "" means the portal's own origin. */
  apiBaseUrl: string;
  /** Overrides the SSO settings that `auth.config` reports; null means "ask the API". */
  sso: { issuer: string; clientId: string; scopes?: string[] } | null;
}

export const DEFAULT_RUNTIME_CONFIG: RuntimeConfig = { apiBaseUrl: "", sso: null };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): value is string {
  return typeof value === "string" && value.trim().length > 0;
}

/** Accepts a parsed `config.json`; anything malformed falls back to the defaults, field by field. */
export function parseRuntimeConfig(raw: unknown): RuntimeConfig {
  if (!isRecord(raw)) return DEFAULT_RUNTIME_CONFIG;
  const apiBaseUrl =
    typeof raw.apiBaseUrl === "string" && raw.apiBaseUrl.length <= 2048
      ? raw.apiBaseUrl.trim().replace(/\/+$/, "")
      : "";
  let sso: RuntimeConfig["sso"] = null;
  if (isRecord(raw.sso) && nonEmpty(raw.sso.issuer) && nonEmpty(raw.sso.clientId)) {
    sso = { issuer: raw.sso.issuer.trim(), clientId: raw.sso.clientId.trim() };
    if (Array.isArray(raw.sso.scopes)) sso.scopes = raw.sso.scopes.filter(nonEmpty);
  }
  return { apiBaseUrl, sso };
}

/** Loads `/config.json`; a missing or broken file means the same-origin default. */
export async function loadRuntimeConfig(fetchImpl: typeof fetch = fetch): Promise<RuntimeConfig> {
  try {
    const response = await fetchImpl("/config.json", {
      cache: "no-store",
      headers: { accept: "application/json" },
    });
    if (!response.ok) return DEFAULT_RUNTIME_CONFIG;
    return parseRuntimeConfig(await response.json());
  } catch {
    return DEFAULT_RUNTIME_CONFIG;
  }
}
