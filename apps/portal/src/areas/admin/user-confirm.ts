import type { User } from "@neosc/core/user";

/*
 * What the users page says before an action that ends someone's work or access: the facts of
 * right now (their running sessions, counted by session.active), in words.
 */

/** The person's running workspace sessions, as the confirmation names them. */
export interface RunningSessions {
  /** null while they are being counted. */
  count: number | null;
  workspaces: readonly string[];
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** "2 running sessions end now (Firefox, Terminal)." / "No running session of theirs ends." */
export function runningSessionsLine(running: RunningSessions): string {
  if (running.count === null) return "Counting their running sessions…";
  if (running.count === 0) return "No running session of theirs ends.";
  const names = [...new Set(running.workspaces)].join(", ");
  return `${plural(running.count, "running session ends", "running sessions end")} now${names ? ` (${names})` : ""}.`;
}

/** The lines of the question before disabling someone. */
export function disableLines(running: RunningSessions): string[] {
  return [
    "They are signed out everywhere and cannot sign in until enabled again.",
    runningSessionsLine(running),
  ];
}

/** The lines of the question before removing someone. */
export function removeLines(user: Pick<User, "email" | "source">, running: RunningSessions): string[] {
  return [
    `The account ${user.email} is deleted and they are signed out everywhere.${user.source === "local" ? "" : " Signing in through single sign-on again would make a new account."}`,
    runningSessionsLine(running),
    "The audit log keeps what they did under the name and email they had. This cannot be undone.",
  ];
}

/** The lines of the question before anonymizing someone. */
export function anonymizeLines(user: Pick<User, "email" | "name">, running: RunningSessions): string[] {
  return [
    `${user.name} (${user.email}) becomes "Anonymized person" with a placeholder email; the account stays, disabled, so their sessions and audit history still link to it. They are signed out everywhere and the email is free again.`,
    runningSessionsLine(running),
    "Earlier audit entries keep the name and email they had (the log is never rewritten). This cannot be undone.",
  ];
}

/** The lines of the question before giving someone a new one-time password. */
export const RESET_PASSWORD_LINES = [
  "Their current password stops working and they are signed out everywhere; a workspace open on their screen ends with its sign-in.",
  "You get a one-time password to hand over, shown once; they must choose their own at the next sign-in.",
];
