/** Where to go after signing in: only same-site paths, never another origin. */
export function safeNextPath(raw: string | null | undefined): string {
  if (!raw?.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return "/";
  if (raw.startsWith("/sign-in") || raw.startsWith("/auth/callback")) return "/";
  return raw;
}
