import { z } from "zod";
import { CidrSchema } from "./common.ts";

export const POLICY_KEYS = [
  "mfa-required",
  "max-concurrent-sessions",
  "session-max-duration",
  "idle-timeout",
  "ip-allowlist",
  "access-hours",
  "self-registration",
  "local-login",
  "clipboard",
  "file-transfer",
  "recording",
] as const;
export const PolicyKeySchema = z.enum(POLICY_KEYS);
export type PolicyKey = z.infer<typeof PolicyKeySchema>;

const EmptySettingsSchema = z.strictObject({});

const TimeOfDaySchema = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, "HH:MM, 24-hour");

export const TimeZoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine((zone) => {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }, "an IANA time zone such as Europe/Berlin");

/** 0 = Sunday … 6 = Saturday, as `Date#getDay`. */
export const WeekdaySchema = z.number().int().min(0).max(6);

/** Settings of each policy, with the bounds an admin may set. */
export const POLICY_SETTINGS_SCHEMAS = {
  "mfa-required": EmptySettingsSchema,
  "max-concurrent-sessions": z.strictObject({ limit: z.number().int().min(1).max(50) }),
  "session-max-duration": z.strictObject({ minutes: z.number().int().min(5).max(1440) }),
  "idle-timeout": z.strictObject({ minutes: z.number().int().min(1).max(1440) }),
  "ip-allowlist": z.strictObject({ cidrs: z.array(CidrSchema).max(100) }),
  "access-hours": z
    .strictObject({
      timeZone: TimeZoneSchema,
      days: z.array(WeekdaySchema).min(1).max(7),
      start: TimeOfDaySchema,
      end: TimeOfDaySchema,
    })
    .refine((hours) => hours.start < hours.end, { path: ["end"], message: "must be after start" }),
  "self-registration": EmptySettingsSchema,
  "local-login": EmptySettingsSchema,
  /**
   * Copy and paste between a person's computer and a desktop or terminal workspace. The gateway
   * refuses pastes into the workspace when `toWorkspace` is off or they exceed `maxBytes`;
   * `fromWorkspace` off keeps the viewer from putting the workspace's copies on the computer.
   */
  clipboard: z.strictObject({
    toWorkspace: z.boolean(),
    fromWorkspace: z.boolean(),
    maxBytes: z.number().int().min(1).max(1_048_576),
  }),
  /** Web apps: whether files may go up (multipart form posts) and come down (attachments). */
  "file-transfer": z.strictObject({ upload: z.boolean(), download: z.boolean() }),
  /**
   * Session recording at the gateway (ARCHITECTURE §10). Off when disabled; `on` records as best
   * it can (a failure is audited and the session goes on); `required` refuses a launch, or ends
   * the session with `recording_failed`, when recording does not work. A desktop's keystrokes
   * are never recorded; a terminal's typed input only with `recordInput` (it holds whatever is
   * typed, passwords too). Finished segments are deleted after `retentionDays`. A workspace may
   * ask for more than this policy (`recordingMode`), never less.
   */
  recording: z.strictObject({
    mode: z.enum(["on", "required"]),
    retentionDays: z.number().int().min(1).max(3650),
    // Defaulted: policies stored before the setting existed read as off.
    recordInput: z.boolean().default(false),
  }),
} as const satisfies Record<PolicyKey, z.ZodType>;

export type PolicySettings<K extends PolicyKey> = z.infer<(typeof POLICY_SETTINGS_SCHEMAS)[K]>;

function policyVariant<K extends PolicyKey>(key: K) {
  return z.object({
    key: z.literal(key),
    enabled: z.boolean(),
    settings: POLICY_SETTINGS_SCHEMAS[key],
    updatedAt: z.date(),
    updatedBy: z.string().nullable(),
  });
}

export const PolicySchema = z.discriminatedUnion("key", [
  policyVariant("mfa-required"),
  policyVariant("max-concurrent-sessions"),
  policyVariant("session-max-duration"),
  policyVariant("idle-timeout"),
  policyVariant("ip-allowlist"),
  policyVariant("access-hours"),
  policyVariant("self-registration"),
  policyVariant("local-login"),
  policyVariant("clipboard"),
  policyVariant("file-transfer"),
  policyVariant("recording"),
]);
export type Policy = z.infer<typeof PolicySchema>;
export type PolicyOf<K extends PolicyKey> = Extract<Policy, { key: K }>;

/** Seeded on first start: safe, and every policy ready to switch on with sensible settings. */
export const DEFAULT_POLICIES: { [K in PolicyKey]: { enabled: boolean; settings: PolicySettings<K> } } = {
  "mfa-required": { enabled: false, settings: {} },
  "max-concurrent-sessions": { enabled: true, settings: { limit: 3 } },
  "session-max-duration": { enabled: true, settings: { minutes: 480 } },
  "idle-timeout": { enabled: true, settings: { minutes: 30 } },
  "ip-allowlist": {
    enabled: false,
    settings: { cidrs: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "::1/128"] },
  },
  "access-hours": {
    enabled: false,
    settings: { timeZone: "UTC", days: [1, 2, 3, 4, 5], start: "07:00", end: "19:00" },
  },
  "self-registration": { enabled: false, settings: {} },
  "local-login": { enabled: true, settings: {} },
  clipboard: { enabled: false, settings: { toWorkspace: false, fromWorkspace: false, maxBytes: 65_536 } },
  // Switched on, it stops files going either way until an administrator allows one direction.
  "file-transfer": { enabled: false, settings: { upload: false, download: false } },
  recording: { enabled: false, settings: { mode: "on", retentionDays: 30, recordInput: false } },
};

/** What a viewer and the gateway may let through, from the `clipboard` policy (null: no limits). */
export function clipboardRule(policy: PolicyOf<"clipboard">): PolicySettings<"clipboard"> | null {
  return policy.enabled ? policy.settings : null;
}

export type RecordingMode = "off" | "on" | "required";

const RECORDING_STRICTNESS: Record<RecordingMode, number> = { off: 0, on: 1, required: 2 };

/**
 * How a session is recorded: the stricter of the `recording` policy and the workspace's own
 * `recording` (null: as the policy says). A workspace can require recording of a sensitive
 * target while the policy is off, but never switch off what the policy asks for.
 */
export function recordingMode(
  policy: PolicyOf<"recording">,
  workspace: Exclude<RecordingMode, "off"> | null,
): RecordingMode {
  const global: RecordingMode = policy.enabled ? policy.settings.mode : "off";
  if (workspace === null) return global;
  return RECORDING_STRICTNESS[workspace] > RECORDING_STRICTNESS[global] ? workspace : global;
}

export const TogglePolicyInputSchema = z.strictObject({ key: PolicyKeySchema, enabled: z.boolean() });

/**
 * `settings` checked against the schema of the named policy: the parsed settings, or null after
 * putting each problem on `settings.<field>`.
 */
function parseSettings(
  key: PolicyKey,
  settings: Record<string, unknown>,
  ctx: z.RefinementCtx,
): Record<string, unknown> | null {
  const parsed = POLICY_SETTINGS_SCHEMAS[key].safeParse(settings);
  if (parsed.success) return parsed.data as Record<string, unknown>;
  for (const issue of parsed.error.issues) {
    ctx.addIssue({ code: "custom", path: ["settings", ...issue.path.map(String)], message: issue.message });
  }
  return null;
}

/** policy.update: settings are checked against the schema of the named policy. */
export const UpdatePolicyInputSchema = z
  .strictObject({ key: PolicyKeySchema, settings: z.record(z.string(), z.unknown()) })
  .transform((input, ctx) => {
    const settings = parseSettings(input.key, input.settings, ctx);
    return settings === null ? z.NEVER : { key: input.key, settings };
  });
export type UpdatePolicyInput = z.infer<typeof UpdatePolicyInputSchema>;

/**
 * policy.preview: what a change would do before an admin makes it — the same key, on/off and
 * (optional) settings as policy.toggle / policy.update, applied to nothing.
 */
export const PreviewPolicyInputSchema = z
  .strictObject({
    key: PolicyKeySchema,
    enabled: z.boolean(),
    settings: z.record(z.string(), z.unknown()).optional(),
  })
  .transform((input, ctx) => {
    if (input.settings === undefined) return { key: input.key, enabled: input.enabled, settings: undefined };
    const settings = parseSettings(input.key, input.settings, ctx);
    return settings === null ? z.NEVER : { key: input.key, enabled: input.enabled, settings };
  });
export type PreviewPolicyInput = z.infer<typeof PreviewPolicyInputSchema>;

/** What the portal's confirmation dialogs say about a policy change (null: not this policy's concern). */
export const PolicyPreviewSchema = z.object({
  /** The caller's address as the API sees it (after trusted proxy hops). */
  callerIp: z.string().nullable(),
  /** ip-allowlist: whether the caller's own address would still be allowed. */
  callerAllowed: z.boolean().nullable(),
  /** access-hours: running sessions the change would end at once (outside the new hours). */
  sessionsEndingNow: z.number().int().nullable(),
  /** local-login: whether single sign-on is there to take over. */
  sso: z
    .object({
      /** Zitadel (OIDC) or Pomerium is configured on this API. */
      configured: z.boolean(),
      issuer: z.string().nullable(),
      /** The IdP's discovery document answered just now (null: not asked — Pomerium, or none). */
      answered: z.boolean().nullable(),
      /** Enabled admins who sign in through SSO or Pomerium (local admins lose access). */
      admins: z.number().int(),
    })
    .nullable(),
});
export type PolicyPreview = z.infer<typeof PolicyPreviewSchema>;
