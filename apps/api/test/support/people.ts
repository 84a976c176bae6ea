import type { LoginOutput } from "@neosc/core/auth";
import type { Role } from "@neosc/core/roles";
import type { User } from "@neosc/core/user";
import type { RunningServer } from "../../src/server.ts";
import { ADMIN_EMAIL, ADMIN_PASSWORD } from "./api.ts";
import { bearer, mutation } from "./http.ts";

/** Signs in over HTTP and answers the bearer token (throws with the refusal otherwise). */
export async function signIn(server: RunningServer, email: string, password: string, totp?: string) {
  const response = await mutation<LoginOutput>(server.url, "auth.login", {
    email,
    password,
    ...(totp === undefined ? {} : { totp }),
  });
  if (response.data === null)
    throw new Error(`sign-in of ${email} refused: ${JSON.stringify(response.error)}`);
  return response.data.token;
}

export const signInAdmin = (server: RunningServer) => signIn(server, ADMIN_EMAIL, ADMIN_PASSWORD);

export interface Person {
  user: User;
  email: string;
  password: string;
  token: string;
}

/**
 * A person as an admin makes one: created with a one-time password, signed in, password changed
 * (which keeps that login session), so `token` works for every procedure.
 */
export async function createPerson(
  server: RunningServer,
  adminToken: string,
  role: Role = "user",
): Promise<Person> {
  const email = `person-${Math.random().toString(36).slice(2)}@example.test`;
  const created = await mutation<{ user: User; oneTimePassword: string }>(
    server.url,
    "user.create",
    { email, name: "Person", role },
    { headers: bearer(adminToken) },
  );
  if (created.data === null) throw new Error(`user.create refused: ${JSON.stringify(created.error)}`);
  const token = await signIn(server, email, created.data.oneTimePassword);
  const password = "person-password-1";
  const changed = await mutation(
    server.url,
    "auth.changePassword",
    { currentPassword: created.data.oneTimePassword, newPassword: password },
    { headers: bearer(token) },
  );
  if (changed.status !== 200)
    throw new Error(`auth.changePassword refused: ${JSON.stringify(changed.error)}`);
  return { user: created.data.user, email, password, token };
}
