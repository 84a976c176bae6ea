import { randomBytes } from "node:crypto";
import type { Reason } from "@neosc/core/errors";
import type { PolicyKey } from "@neosc/core/policy";
import type { Role } from "@neosc/core/roles";
import type { CreateWorkspaceInput } from "@neosc/core/workspace";
import type { AppRouter } from "@neosc/router/types";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import superjson from "superjson";

/** A typed client for the real API over HTTP, as one person (bearer token) or anonymous. */
export function apiClient(baseUrl: string, token?: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${baseUrl}/trpc`,
        transformer: superjson,
        headers: () => (token ? { authorization: `Bearer ${token}` } : {}),
      }),
    ],
  });
}

export type ApiClient = ReturnType<typeof apiClient>;

export interface SignedIn {
  api: ApiClient;
  token: string;
  email: string;
  password: string;
  id: string;
}

export async function signInApi(baseUrl: string, email: string, password: string): Promise<SignedIn> {
  const result = await apiClient(baseUrl).auth.login.mutate({ email, password });
  return { api: apiClient(baseUrl, result.token), token: result.token, email, password, id: result.user.id };
}

/** Unique per call, so flows sharing one database never collide. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

/**
 * A local account created the way an admin does it (`user.create` gives a one-time password),
 * then its first sign-in replacing that password, so the browser can sign in with a known one.
 */
export async function createLocalUser(
  baseUrl: string,
  admin: ApiClient,
  role: Role,
  options: { name?: string } = {},
): Promise<SignedIn> {
  const email = `${unique(role)}@people.test`;
  const created = await admin.user.create.mutate({ email, name: options.name ?? `Test ${role}`, role });
  const first = await signInApi(baseUrl, email, created.oneTimePassword);
  const password = `pw-${randomBytes(12).toString("base64url")}`;
  await first.api.auth.changePassword.mutate({
    currentPassword: created.oneTimePassword,
    newPassword: password,
  });
  return signInApi(baseUrl, email, password);
}

export async function createWorkspace(
  admin: ApiClient,
  input: Partial<CreateWorkspaceInput> & Pick<CreateWorkspaceInput, "allowedRoles">,
) {
  const slug = unique("ws");
  return admin.workspace.create.mutate({
    slug,
    name: input.name ?? `Desk ${slug.slice(3)}`,
    // A real desktop in a sandbox on the API's workspace host (the local driver).
    kind: "desktop",
    driver: "local",
    program: "desktop",
    ...input,
  } as CreateWorkspaceInput);
}

/** Sets a policy and returns a function that puts back what was there before. */
export async function withPolicy<K extends PolicyKey>(
  admin: ApiClient,
  key: K,
  change: { enabled: boolean; settings?: Record<string, unknown> },
): Promise<() => Promise<void>> {
  const before = (await admin.policy.list.query()).find((policy) => policy.key === key);
  if (!before) throw new Error(`no policy ${key}`);
  if (change.settings) await admin.policy.update.mutate({ key, settings: change.settings });
  await admin.policy.toggle.mutate({ key, enabled: change.enabled });
  return async () => {
    if (change.settings) await admin.policy.update.mutate({ key, settings: before.settings });
    await admin.policy.toggle.mutate({ key, enabled: before.enabled });
  };
}

/** The tRPC error code and domain reason of a refused call. */
export function refusal(error: unknown): { code: string; httpStatus: number; reason: Reason | null } {
  if (!(error instanceof TRPCClientError)) throw error;
  const data = (error as TRPCClientError<AppRouter>).data;
  return { code: data?.code ?? "", httpStatus: data?.httpStatus ?? 0, reason: data?.domain?.reason ?? null };
}
