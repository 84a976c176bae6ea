import { randomUUID } from "node:crypto";
import type { Page } from "@neosc/core/common";
import { ROLES, type Role } from "@neosc/core/roles";
import type { ListUsersInput, User, UserSource } from "@neosc/core/user";
import type { Filter } from "mongodb";
import { canonicalJson } from "../canonical.ts";
import type { Collections, LookupDoc, RecoveryCodeDoc, UserDoc } from "../collections.ts";
import { claimOnce, defined } from "../collections.ts";
import { decodeCursor, encodeCursor, escapeRegex } from "../cursor.ts";
import { isDuplicateKeyError, mapDuplicate } from "../errors.ts";
import { withLock } from "../locks.ts";
import { bumpRevocations } from "./gateway.ts";

export interface NewLocalUser {
  source: "local";
  email: string;
  name: string;
  role: Role;
  organizationId: string | null;
  passwordHash: string;
  /** True for admin-created accounts with a one-time password. */
  mustChangePassword: boolean;
}

/** A person seen for the first time through SSO or Pomerium (just-in-time). */
export interface NewExternalUser {
  source: "sso" | "pomerium";
  email: string;
  name: string;
  role: Role;
  organizationId: string | null;
  externalId: string;
}

/** An account for automation: no password, reached only through its API tokens. */
export interface NewServiceAccount {
  source: "service";
  email: string;
  name: string;
  role: Role;
  organizationId: string | null;
}

export type NewUser = NewLocalUser | NewExternalUser | NewServiceAccount;

export interface UserPatch {
  email?: string;
  name?: string;
  role?: Role;
  organizationId?: string | null;
  disabled?: boolean;
  mustChangePassword?: boolean;
  source?: UserSource;
  externalId?: string | null;
}

/** What login needs and nothing else may see: the password hash and the TOTP secret. */
export interface UserAuthRecord {
  user: User;
  passwordHash: string | null;
  /** Set while enrolling (user.totpEnabled false) and once confirmed (totpEnabled true). */
  totpSecret: string | null;
  /** The unused recovery codes (hashes): each can stand in for a TOTP code once. */
  recoveryCodes: { id: string; hash: string }[];
}

export interface UserCountFilter {
  role?: Role;
  disabled?: boolean;
  organizationId?: string | null;
  source?: UserSource;
}

export interface UsersRepository {
  create(input: NewUser): Promise<User>;
  findById(id: string): Promise<User | null>;
  /** Case-insensitive (emails are stored lower-case). */
  findByEmail(email: string): Promise<User | null>;
  /** IdP subject (Zitadel `sub`, also what Pomerium forwards). */
  findByExternalId(externalId: string): Promise<User | null>;
  findAuthRecordByEmail(email: string): Promise<UserAuthRecord | null>;
  findAuthRecordById(id: string): Promise<UserAuthRecord | null>;
  /** Sorted by email ascending; keyset cursor. `search` matches email or name (substring). */
  list(input: ListUsersInput): Promise<Page<User>>;
  /** Returns the updated user, or null when there is no such user. */
  update(id: string, patch: UserPatch): Promise<User | null>;
  setPassword(
    id: string,
    passwordHash: string,
    options: { mustChangePassword: boolean },
  ): Promise<User | null>;
  /** Enrol: `{ secret, enabled: false }`; confirm: `{ secret, enabled: true }`; disable: `{ secret: null, enabled: false }`. */
  setTotp(id: string, totp: { secret: string | null; enabled: boolean }): Promise<User | null>;
  /** Replaces the person's recovery codes (the old ones stop working) with these hashes. */
  setRecoveryCodes(id: string, hashes: string[]): Promise<void>;
  /**
   * Uses up one recovery code, once across every replica (a claim on its id). Returns how many
   * unused codes are left, or null when it was used already or is no longer in the current set.
   */
  consumeRecoveryCode(id: string, codeId: string, at: Date): Promise<number | null>;
  /**
   * Marks a TOTP time step as used (replay protection). Compare-and-set: true only if `step` is
   * later than every step used before by this user.
   */
  consumeTotpStep(id: string, step: number): Promise<boolean>;
  recordLogin(id: string, at: Date): Promise<void>;
  count(filter?: UserCountFilter): Promise<number>;
  /** Every role present as a key (0 when nobody has it). */
  countByRole(filter?: { disabled?: boolean }): Promise<Record<Role, number>>;
  /** organizationId → number of members (users without organization are not counted). */
  countByOrganization(): Promise<Record<string, number>>;
  /**
   * Deletes the account (its email becomes free). What others wrote about it stays: audit entries
   * name their actor as they were, ended sessions keep the email they ran under.
   */
  delete(id: string): Promise<boolean>;
  /**
   * Anonymizes the person in place: the document and its id stay (sessions and audit entries still
   * link to it), name and email become `placeholder`, the IdP subject, password, authenticator and
   * recovery codes go, and the account is disabled. Their old email and subject are free (hints
   * removed). Null when there is no such user.
   */
  anonymize(id: string, placeholder: { email: string; name: string }): Promise<User | null>;
}

const UNIQUE = ["email", "_id"] as const;

export function toUser(doc: UserDoc): User {
  return {
    id: doc._id,
    email: doc.email,
    name: doc.name,
    role: doc.role,
    organizationId: doc.organizationId ?? null,
    source: doc.source,
    externalId: doc.externalId ?? null,
    disabled: doc.disabled,
    totpEnabled: doc.totpEnabled,
    mustChangePassword: doc.mustChangePassword,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    lastLoginAt: doc.lastLoginAt ?? null,
  };
}

function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/*
 * Sign-in finds a person by email (password login, first SSO sight) or by IdP subject (every
 * Pomerium request, every SSO login). On FerretDB 1.24 either filter scans `users`, so each key
 * has a hint in `lookups` (LookupDoc, `email:<normalized>` / `subject:<externalId>` → user id),
 * written here whenever a person is created or their email or subject changes: a lookup is then
 * two reads by `_id`. A hint is only a hint: the person it names must still hold the key, else
 * (a hint from before this version, a crash between the two writes, a removed person) the
 * lookup scans as before and puts the hint right, so a missing or stale hint costs one scan,
 * never a wrong answer.
 */
type LookupKey = { kind: "email"; value: string } | { kind: "subject"; value: string };

function lookupId(key: LookupKey): string {
  return `${key.kind}:${key.value}`;
}

function holdsKey(doc: UserDoc, key: LookupKey): boolean {
  return key.kind === "email" ? doc.email === key.value : doc.externalId === key.value;
}

function countFilter(filter: UserCountFilter = {}): Filter<UserDoc> {
  const query: Filter<UserDoc> = {};
  if (filter.role !== undefined) query.role = filter.role;
  if (filter.disabled !== undefined) query.disabled = filter.disabled;
  if (filter.organizationId !== undefined) query.organizationId = filter.organizationId;
  if (filter.source !== undefined) query.source = filter.source;
  return query;
}

export function createUsersRepository(collections: Collections, clock: () => Date): UsersRepository {
  const users = collections.users;

  /*
   * FerretDB writes whole documents, so two overlapping updates of one user lose one of them: a
   * sign-in's `lastLoginAt` or a TOTP enrolment that read the user just before an admin disabled
   * or demoted them put `disabled: false` / the old role back. Every update of a user document
   * therefore runs under the user's write lock (locks.ts).
   */
  function withUserLock<T>(id: string, write: () => Promise<T>): Promise<T> {
    return withLock(collections.claims, `user-write:${id}`, write);
  }

  /*
   * Under the lock no other NeoSC write of this user overlaps ours; the read-back stays as a
   * check that the fields stuck (MongoDB and FerretDB both pass it first time).
   */
  function updateAndReturn(id: string, set: Partial<UserDoc>): Promise<User | null> {
    return withUserLock(id, () => writeAndReturn(id, set));
  }

  async function writeAndReturn(id: string, set: Partial<UserDoc>): Promise<User | null> {
    for (let attempt = 0; ; attempt += 1) {
      const doc = await mapDuplicate(
        () =>
          users.findOneAndUpdate(
            { _id: id },
            { $set: { ...set, updatedAt: clock() } },
            { returnDocument: "after" },
          ),
        { entity: "user", collection: users, written: { ...set, _id: id }, unique: UNIQUE },
      );
      if (!doc) return null;
      const fresh = await users.findOne({ _id: id });
      if (!fresh) return null;
      const stuck = Object.entries(set).every(
        ([key, value]) => canonicalJson(fresh[key as keyof UserDoc]) === canonicalJson(value),
      );
      if (stuck || attempt >= 4) return toUser(fresh);
    }
  }

  const lookups = collections.lookups;

  async function writeHint(key: LookupKey, userId: string): Promise<void> {
    const hint: LookupDoc = { _id: lookupId(key), targetId: userId, at: clock() };
    await lookups.replaceOne({ _id: hint._id }, hint, { upsert: true }).catch((error: unknown) => {
      // Two writers of a first hint race (FerretDB's upsert is read-then-insert): one stands,
      // and a reader corrects it if it is the wrong one.
      if (!isDuplicateKeyError(error)) throw error;
    });
  }

  async function writeHints(doc: Pick<UserDoc, "_id" | "email" | "externalId">): Promise<void> {
    await writeHint({ kind: "email", value: doc.email }, doc._id);
    if (doc.externalId) await writeHint({ kind: "subject", value: doc.externalId }, doc._id);
  }

  /** The person holding `key`: by its hint (two reads by `_id`), else by a scan that rewrites the hint. */
  async function findByKey(key: LookupKey): Promise<UserDoc | null> {
    const hint = await lookups.findOne({ _id: lookupId(key) });
    if (hint !== null) {
      const doc = await users.findOne({ _id: hint.targetId });
      if (doc !== null && holdsKey(doc, key)) return doc;
    }
    const doc =
      key.kind === "email"
        ? await users.findOne({ email: key.value })
        : await users.findOne({ externalId: key.value }, { sort: { createdAt: 1 } });
    if (doc !== null) await writeHint(key, doc._id);
    else if (hint !== null) await lookups.deleteOne({ _id: hint._id, targetId: hint.targetId });
    return doc;
  }

  async function authRecord(filter: Filter<UserDoc>): Promise<UserAuthRecord | null> {
    return authRecordOf(await users.findOne(filter));
  }

  function authRecordOf(doc: UserDoc | null): UserAuthRecord | null {
    if (!doc) return null;
    return {
      user: toUser(doc),
      passwordHash: doc.passwordHash ?? null,
      totpSecret: doc.totpSecret ?? null,
      recoveryCodes: (doc.recoveryCodes ?? [])
        .filter((code) => code.usedAt === null)
        .map(({ id, hash }) => ({ id, hash })),
    };
  }

  return {
    async create(input: NewUser) {
      const now = clock();
      const doc: UserDoc = {
        _id: randomUUID(),
        email: normalizeEmail(input.email),
        name: input.name,
        role: input.role,
        organizationId: input.organizationId,
        source: input.source,
        externalId: input.source === "local" || input.source === "service" ? null : input.externalId,
        disabled: false,
        totpEnabled: false,
        mustChangePassword: input.source === "local" ? input.mustChangePassword : false,
        createdAt: now,
        updatedAt: now,
        lastLoginAt: null,
        passwordHash: input.source === "local" ? input.passwordHash : null,
        totpSecret: null,
        totpLastStep: 0,
        recoveryCodes: [],
      };
      await mapDuplicate(() => users.insertOne(doc), {
        entity: "user",
        collection: users,
        written: doc,
        unique: UNIQUE,
      });
      await writeHints(doc);
      return toUser(doc);
    },

    async findById(id) {
      const doc = await users.findOne({ _id: id });
      return doc ? toUser(doc) : null;
    },

    async findByEmail(email) {
      const doc = await findByKey({ kind: "email", value: normalizeEmail(email) });
      return doc ? toUser(doc) : null;
    },

    async findByExternalId(externalId) {
      const doc = await findByKey({ kind: "subject", value: externalId });
      return doc ? toUser(doc) : null;
    },

    findAuthRecordByEmail: async (email) =>
      authRecordOf(await findByKey({ kind: "email", value: normalizeEmail(email) })),
    findAuthRecordById: (id) => authRecord({ _id: id }),

    async list(input: ListUsersInput): Promise<Page<User>> {
      const query: Filter<UserDoc> = countFilter(input);
      const and: Filter<UserDoc>[] = [];
      if (input.search) {
        const pattern = { $regex: escapeRegex(input.search), $options: "i" };
        and.push({ $or: [{ email: pattern }, { name: pattern }] });
      }
      if (input.cursor) {
        const [email] = decodeCursor(input.cursor, ["string"] as const);
        and.push({ email: { $gt: email } });
      }
      if (and.length > 0) query.$and = and;
      const docs = await users
        .find(query)
        .sort({ email: 1 })
        .limit(input.limit + 1)
        .toArray();
      const items = docs.slice(0, input.limit).map(toUser);
      const last = items.at(-1);
      return { items, nextCursor: docs.length > input.limit && last ? encodeCursor([last.email]) : null };
    },

    async update(id, patch: UserPatch) {
      const set: Partial<UserDoc> = defined({
        ...patch,
        email: patch.email === undefined ? undefined : normalizeEmail(patch.email),
      });
      const updated = await updateAndReturn(id, set);
      // The new email or subject is found by its hint; the old hint no longer matches (see findByKey).
      if (updated !== null && (set.email !== undefined || set.externalId)) {
        await writeHints({ _id: updated.id, email: updated.email, externalId: updated.externalId });
      }
      // A disabled person's gateway connections close on every replica's next poll.
      if (updated !== null && patch.disabled === true) await bumpRevocations(collections, clock());
      return updated;
    },

    setPassword(id, passwordHash, options) {
      return updateAndReturn(id, { passwordHash, mustChangePassword: options.mustChangePassword });
    },

    setTotp(id, totp) {
      return updateAndReturn(id, {
        totpSecret: totp.secret,
        totpEnabled: totp.enabled && totp.secret !== null,
        // Recovery codes stand in for this authenticator: they go with it.
        ...(totp.secret === null ? { recoveryCodes: [] } : {}),
      });
    },

    async setRecoveryCodes(id, hashes) {
      const recoveryCodes: RecoveryCodeDoc[] = hashes.map((hash) => ({
        id: randomUUID(),
        hash,
        usedAt: null,
      }));
      await updateAndReturn(id, { recoveryCodes });
    },

    async consumeRecoveryCode(id, codeId, at) {
      if (!(await claimOnce(collections.claims, { _id: `recovery:${codeId}`, at, data: {} }))) return null;
      return withUserLock(id, async () => {
        const doc = await users.findOne({ _id: id }, { projection: { recoveryCodes: 1 } });
        const codes = doc?.recoveryCodes ?? [];
        if (!codes.some((code) => code.id === codeId && code.usedAt === null)) return null;
        const recoveryCodes = codes.map((code) => (code.id === codeId ? { ...code, usedAt: at } : code));
        await users.updateOne({ _id: id }, { $set: { recoveryCodes, updatedAt: clock() } });
        return recoveryCodes.filter((code) => code.usedAt === null).length;
      });
    },

    /*
     * Once per (user, step) through a claim (see ClaimDoc), which holds on FerretDB too; the
     * stored last step additionally refuses steps older than one already used.
     */
    async consumeTotpStep(id, step) {
      const user = await users.findOne({ _id: id }, { projection: { totpLastStep: 1 } });
      if (!user || step <= (user.totpLastStep ?? 0)) return false;
      if (!(await claimOnce(collections.claims, { _id: `totp:${id}:${step}`, at: clock(), data: {} })))
        return false;
      await withUserLock(id, () =>
        users.updateOne({ _id: id, totpLastStep: { $lt: step } }, { $set: { totpLastStep: step } }),
      );
      return true;
    },

    async recordLogin(id, at) {
      await withUserLock(id, () => users.updateOne({ _id: id }, { $set: { lastLoginAt: at } }));
    },

    count(filter) {
      return users.countDocuments(countFilter(filter));
    },

    async countByRole(filter = {}) {
      const match: Filter<UserDoc> = filter.disabled === undefined ? {} : { disabled: filter.disabled };
      const rows = await users
        .aggregate<{ _id: Role; count: number }>([
          { $match: match },
          { $group: { _id: "$role", count: { $sum: 1 } } },
        ])
        .toArray();
      const counts = Object.fromEntries(ROLES.map((role) => [role, 0])) as Record<Role, number>;
      for (const row of rows) {
        if (ROLES.includes(row._id)) counts[row._id] = row.count;
      }
      return counts;
    },

    async countByOrganization() {
      const rows = await users
        .aggregate<{ _id: string; count: number }>([
          { $match: { organizationId: { $ne: null } } },
          { $group: { _id: "$organizationId", count: { $sum: 1 } } },
        ])
        .toArray();
      return Object.fromEntries(rows.map((row) => [row._id, row.count]));
    },

    async anonymize(id, placeholder) {
      const before = await users.findOne({ _id: id });
      if (before === null) return null;
      const updated = await updateAndReturn(id, {
        email: normalizeEmail(placeholder.email),
        name: placeholder.name,
        externalId: null,
        passwordHash: null,
        totpSecret: null,
        totpEnabled: false,
        recoveryCodes: [],
        mustChangePassword: false,
        disabled: true,
      });
      if (updated === null) return null;
      for (const key of [
        { kind: "email", value: before.email },
        ...(before.externalId ? [{ kind: "subject", value: before.externalId }] : []),
      ] as LookupKey[]) {
        await lookups.deleteOne({ _id: lookupId(key), targetId: id });
      }
      await writeHint({ kind: "email", value: updated.email }, id);
      await bumpRevocations(collections, clock());
      return updated;
    },

    async delete(id) {
      const removed = await withUserLock(id, async () => {
        const doc = await users.findOne({ _id: id });
        const result = await users.deleteOne({ _id: id });
        return result.deletedCount === 1 ? doc : null;
      });
      if (removed === null) return false;
      // Their sign-in hints go too (only while they still name this person: the email is free).
      for (const key of [
        { kind: "email", value: removed.email },
        ...(removed.externalId ? [{ kind: "subject", value: removed.externalId }] : []),
      ] as LookupKey[]) {
        await lookups.deleteOne({ _id: lookupId(key), targetId: id });
      }
      // A removed person's gateway connections close on every replica's next poll.
      await bumpRevocations(collections, clock());
      return true;
    },
  };
}
