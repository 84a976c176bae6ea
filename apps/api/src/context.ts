import { SESSION_COOKIE } from "@neosc/core/auth";
import type { Database } from "@neosc/db/database";
import {
  createInnerContext,
  type InnerContext,
  type ResponseCookies,
  type RouterConfig,
  type Services,
} from "@neosc/router/context";
import { resolveIdentity } from "@neosc/router/domain/identity/identity";
import { toTRPCError } from "@neosc/router/errors";
import type { Request, Response } from "express";
import { readCookie } from "./http-security.ts";

/*
 * The outer (HTTP) context: everything the API takes from a request before a procedure runs —
 * client address, user agent, the presented credentials and the cookie writer — turned into the
 * router's inner context. This is the only place that reads a request for the router.
 */

export interface HttpContextOptions {
  db: Database;
  clock: () => Date;
  config: RouterConfig;
  services: Omit<Services, "responseCookies">;
  /** Set-Cookie with `Secure` (the public URL is https). */
  secure: boolean;
}

function sessionCookieJar(response: Response, secure: boolean): ResponseCookies {
  const base = { httpOnly: true, sameSite: "lax" as const, secure, path: "/" };
  return {
    setSession(token, expiresAt) {
      response.cookie(SESSION_COOKIE, token, { ...base, expires: expiresAt });
    },
    clearSession() {
      response.clearCookie(SESSION_COOKIE, base);
    },
  };
}

function bearerToken(request: Request): string | undefined {
  const match = /^bearer\s+(\S+)\s*$/i.exec(request.get("authorization") ?? "");
  return match?.[1];
}

export async function createHttpContext(
  options: HttpContextOptions,
  req: Request,
  res: Response,
): Promise<InnerContext> {
  const { db, clock, config, services, secure } = options;
  const request = { clientIp: req.ip ?? null, userAgent: req.get("user-agent")?.slice(0, 512) ?? null };
  const responseCookies = sessionCookieJar(res, secure);
  try {
    const { identity, credentialError } = await resolveIdentity(
      { db, clock, request, services: { ...services, responseCookies } },
      {
        pomeriumAssertion: req.get("x-pomerium-jwt-assertion"),
        bearerToken: bearerToken(req),
        sessionCookie: readCookie(req.headers.cookie, SESSION_COOKIE),
      },
    );
    return createInnerContext({
      db,
      clock,
      config,
      identity,
      credentialError,
      request,
      services: { ...services, responseCookies },
    });
  } catch (error) {
    throw toTRPCError(error);
  }
}
