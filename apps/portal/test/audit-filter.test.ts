import { AUDIT_ACTIONS } from "@neosc/core/audit";
import { describe, expect, it } from "vitest";
import { actionGroups, toAuditFilter } from "../src/areas/admin/audit-page.tsx";

const EMPTY = { actorEmail: "", action: "", resourceType: "", result: "" as const, from: "", to: "" };

describe("the audit page's filters", () => {
  it("offers every known action as a choice, grouped, with a choice for the whole group", () => {
    const groups = actionGroups();
    const offered = groups.flatMap((group) => group.actions);
    expect(offered.sort()).toEqual([...AUDIT_ACTIONS].sort());
    const sessions = groups.find((group) => group.area === "session");
    expect(sessions).toMatchObject({ label: "Sessions", prefix: "session." });
    expect(sessions?.actions).toEqual(expect.arrayContaining(["session.disconnect", "session.expire"]));
    expect(groups.find((group) => group.area === "gateway")?.actions).toContain("gateway.connect");
  });

  it("turns local date-times into a range and refuses a “to” before the “from”", () => {
    const ok = toAuditFilter({
      ...EMPTY,
      from: "2026-12-01T08:00",
      to: "2026-12-01T09:30",
      action: "session.",
    });
    expect(ok.errors).toBeNull();
    expect(ok.filter?.from).toEqual(new Date(2026, 11, 1, 8, 0));
    expect(ok.filter?.to).toEqual(new Date(2026, 11, 1, 9, 30));
    expect(ok.filter?.action).toBe("session.");

    expect(toAuditFilter({ ...EMPTY, from: "2026-12-01T09:00", to: "2026-12-01T08:00" })).toEqual({
      filter: null,
      errors: { to: ["must be after “From”"] },
    });
    expect(toAuditFilter({ ...EMPTY, from: "yesterday" }).errors).toEqual({
      from: ["Enter a date and time"],
    });
  });
});
