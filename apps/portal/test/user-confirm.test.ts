import { describe, expect, it } from "vitest";
import {
  anonymizeLines,
  disableLines,
  RESET_PASSWORD_LINES,
  removeLines,
} from "../src/areas/admin/user-confirm.ts";

describe("confirmations before ending someone's access", () => {
  it("says how many running sessions disabling someone ends, and which", () => {
    expect(disableLines({ count: 2, workspaces: ["Firefox", "Terminal"] })).toEqual([
      "They are signed out everywhere and cannot sign in until enabled again.",
      "2 running sessions end now (Firefox, Terminal).",
    ]);
    expect(disableLines({ count: 1, workspaces: ["Firefox"] })[1]).toBe(
      "1 running session ends now (Firefox).",
    );
    expect(disableLines({ count: 0, workspaces: [] })[1]).toBe("No running session of theirs ends.");
    expect(disableLines({ count: null, workspaces: [] })[1]).toBe("Counting their running sessions…");
  });

  it("says before removing someone what goes and what the audit log keeps", () => {
    const lines = removeLines(
      { email: "pia@example.test", source: "sso" },
      { count: 3, workspaces: ["Desk"] },
    );
    expect(lines[0]).toContain("pia@example.test is deleted");
    expect(lines[0]).toContain("single sign-on again would make a new account");
    expect(lines[1]).toBe("3 running sessions end now (Desk).");
    expect(lines[2]).toContain("audit log keeps what they did");
    expect(
      removeLines({ email: "x@example.test", source: "local" }, { count: 0, workspaces: [] })[0],
    ).not.toContain("single sign-on");
    expect(RESET_PASSWORD_LINES.join(" ")).toContain("shown once");
  });

  it("says before anonymizing someone what is replaced, what stays, and what ends", () => {
    const lines = anonymizeLines(
      { email: "ann@example.test", name: "Ann" },
      { count: 1, workspaces: ["Desk"] },
    );
    expect(lines[0]).toContain('Ann (ann@example.test) becomes "Anonymized person"');
    expect(lines[0]).toContain("the email is free again");
    expect(lines[1]).toBe("1 running session ends now (Desk).");
    expect(lines[2]).toContain("Earlier audit entries keep the name and email they had");
  });
});
