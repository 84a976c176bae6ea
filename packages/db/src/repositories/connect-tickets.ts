import { createHash } from "node:crypto";
import type { ClaimDoc, Collections } from "../collections.ts";
import { claimOnce } from "../collections.ts";

/** What a connection ticket lets its bearer open: one WebSocket to one session, once. */
export interface ConnectTicket {
  sessionId: string;
  userId: string;
  /** The app login behind `session.connect`; null when the caller came through Pomerium. */
  loginSessionId: string | null;
  /** The IdP subject the gateway expects in the Pomerium assertion, when there is one. */
  subject: string | null;
  issuedAt: Date;
  expiresAt: Date;
  /**
   * An admin watching someone else's session (`session.watch`): the gateway opens a view-only
   * connection (no input reaches the workspace, no slot of the person's, nothing recorded).
   */
  watch?: boolean;
}

export type RedeemedTicket =
  | { ok: true; ticket: ConnectTicket }
  | { ok: false; why: "unknown" | "expired" | "replayed" };

export interface ConnectTicketsRepository {
  /** Stores a ticket under its hash (the database never holds a usable ticket). */
  issue(ticket: string, data: ConnectTicket): Promise<void>;
  /**
   * Single use across every replica: the first redeem inserts the `used` claim and wins; every
   * later one (and any after `expiresAt`) is refused.
   */
  redeem(ticket: string, now: Date): Promise<RedeemedTicket>;
}

const hashOf = (ticket: string) => createHash("sha256").update(ticket).digest("base64url");
const ticketId = (hash: string) => `connect-ticket:${hash}`;
const usedId = (hash: string) => `connect-ticket-used:${hash}`;

export function createConnectTicketsRepository(collections: Collections): ConnectTicketsRepository {
  const { claims } = collections;
  return {
    async issue(ticket, data) {
      const doc: ClaimDoc = {
        _id: ticketId(hashOf(ticket)),
        at: data.issuedAt,
        data: { ...data },
      };
      await claims.insertOne(doc);
    },

    async redeem(ticket, now) {
      const hash = hashOf(ticket);
      const doc = await claims.findOne({ _id: ticketId(hash) });
      if (doc === null) return { ok: false, why: "unknown" };
      const data = doc.data as unknown as ConnectTicket;
      if (!(data.expiresAt instanceof Date) || data.expiresAt.getTime() <= now.getTime()) {
        return { ok: false, why: "expired" };
      }
      if (!(await claimOnce(claims, { _id: usedId(hash), at: now, data: {} }))) {
        return { ok: false, why: "replayed" };
      }
      return {
        ok: true,
        ticket: {
          sessionId: data.sessionId,
          userId: data.userId,
          loginSessionId: data.loginSessionId ?? null,
          subject: data.subject ?? null,
          issuedAt: data.issuedAt,
          expiresAt: data.expiresAt,
          ...(data.watch === true ? { watch: true } : {}),
        },
      };
    },
  };
}
