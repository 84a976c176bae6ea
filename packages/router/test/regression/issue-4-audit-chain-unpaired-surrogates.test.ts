import { describe, expect, it } from "vitest";
import { callerFor, createLocalUser } from "../support/context.ts";
import { useTestDatabase } from "../support/database.ts";

/*
 * Audit entries were hashed over the strings as received, but BSON stores UTF-8, which turns an
 * unpaired UTF-16 surrogate into U+FFFD. Any signed-in person could therefore make `audit.verify`
 * report a broken chain (and drown real tampering) with one disconnect note such as "\ud800".
 */

const database = useTestDatabase();

describe("issue 4: unpaired surrogates cannot break the audit chain", () => {
  it("a disconnect note with lone surrogates is stored and hashed alike", async () => {
    const { user: admin } = await createLocalUser(database.db, "admin");
    const asAdmin = callerFor(database.db, { user: admin });
    const { workspaces } = await asAdmin.workspace.reset();
    const firefox = workspaces.find((workspace) => workspace.slug === "firefox");
    if (firefox === undefined) throw new Error("catalogue missing");

    const { user } = await createLocalUser(database.db, "user");
    const asUser = callerFor(database.db, { user });
    const session = await asUser.workspace.launch({ workspaceId: firefox.id });
    const ended = await asUser.session.disconnect({ sessionId: session.id, note: "bye \ud800 x \udc00" });
    expect(ended.status).toBe("ended");

    expect(await asAdmin.audit.verify()).toMatchObject({ ok: true, firstBroken: null });
    const entries = await asAdmin.audit.list({ resourceId: session.id, action: "session.disconnect" });
    expect(entries.items[0]?.details).toMatchObject({ note: "bye \ufffd x \ufffd" });
  });
});
