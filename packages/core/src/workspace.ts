import { z } from "zod";
import { DescriptionSchema, IdSchema, NameSchema, SlugSchema } from "./common.ts";
import { RoleSchema } from "./roles.ts";

export const WorkspaceKindSchema = z.enum(["desktop", "app", "web", "terminal"]);
export type WorkspaceKind = z.infer<typeof WorkspaceKindSchema>;

/**
 * Which provisioner driver starts a desktop, app or terminal workspace (web workspaces need
 * none): `local` runs a program in a sandbox on a workspace host, `static` connects to an
 * existing VNC server, `ssh` opens a shell on an internal host, `kubernetes` runs the
 * workspace's container image as a pod (with its CPU and memory) on a cluster a workspace host
 * is configured for. A workspace with none cannot start on this install and is shown as
 * unavailable.
 */
export const WorkspaceDriverSchema = z.enum(["local", "static", "ssh", "kubernetes"]);
export type WorkspaceDriver = z.infer<typeof WorkspaceDriverSchema>;

/**
 * What the `local` driver runs: a full desktop, or one application filling the screen (VNC), or
 * `shell`, a login shell under a pty for a terminal workspace.
 */
export const WorkspaceProgramSchema = z.enum(["desktop", "firefox", "terminal", "shell"]);
export type WorkspaceProgram = z.infer<typeof WorkspaceProgramSchema>;

/** An existing VNC server the `static` driver connects to. */
export const VncTargetSchema = z.strictObject({
  host: z
    .string()
    .trim()
    .min(1)
    .max(253)
    .regex(/^[\w.:-]+$/, "a host name or address"),
  port: z.number().int().min(1).max(65_535),
});
export type VncTarget = z.infer<typeof VncTargetSchema>;

/**
 * The pinned host key of an ssh target, as its SHA256 fingerprint: what `ssh-keygen -lf
 * <key>.pub` and OpenSSH's first-connection prompt print, so an admin can compare it by eye.
 */
export const SshHostKeySchema = z
  .string()
  .trim()
  .regex(
    /^SHA256:[A-Za-z0-9+/]{43}$/,
    "the host key's SHA256 fingerprint as ssh-keygen -lf prints it (SHA256: and 43 characters)",
  );

/** An internal host the `ssh` driver opens a shell on. */
export const SshTargetSchema = z.strictObject({
  host: VncTargetSchema.shape.host,
  port: z.number().int().min(1).max(65_535),
  username: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z_][\w.-]*$/, "a user name: letters, digits, dots, dashes and underscores"),
  hostKey: SshHostKeySchema,
});
export type SshTarget = z.infer<typeof SshTargetSchema>;

/**
 * Write-only: how NeoSC logs in to an ssh target. The gateway authenticates with it; it is never
 * part of an output or sent to the browser. Private keys are OpenSSH or PEM without a passphrase.
 */
export const SshCredentialSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("password"), password: z.string().min(1).max(1024) }),
  z.strictObject({
    kind: z.literal("privateKey"),
    privateKey: z
      .string()
      .trim()
      .max(16_384)
      .regex(
        /^-----BEGIN (OPENSSH|RSA|EC) PRIVATE KEY-----[\s\S]+-----END \1 PRIVATE KEY-----$/,
        "a private key in OpenSSH or PEM form (-----BEGIN … PRIVATE KEY-----)",
      ),
  }),
]);
export type SshCredential = z.infer<typeof SshCredentialSchema>;

export const TagSchema = z
  .string()
  .trim()
  .min(1)
  .max(32)
  .regex(/^[\w .-]+$/, "letters, digits, spaces, dots and dashes");

/** Field rules without defaults: a partial update must not fill in what it does not mention. */
const workspaceFields = {
  slug: SlugSchema,
  name: NameSchema,
  description: DescriptionSchema,
  kind: WorkspaceKindSchema,
  /** Container image for desktops and apps (e.g. `kasmweb/firefox:1.16`). */
  image: z.string().trim().min(1).max(255).nullable(),
  /** Target URL for web workspaces. */
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .nullable(),
  driver: WorkspaceDriverSchema.nullable(),
  program: WorkspaceProgramSchema.nullable(),
  target: VncTargetSchema.nullable(),
  sshTarget: SshTargetSchema.nullable(),
  sshCredential: SshCredentialSchema.nullable(),
  /**
   * Write-only: the static target's VNC password. NeoSC keeps it and answers the server's VNC
   * challenge itself; it is never part of an output (the browser sees security type None).
   * VNC authentication uses at most 8 characters.
   */
  vncPassword: z.string().min(1).max(8, "a VNC password has at most 8 characters").nullable(),
  cpu: z.number().min(0.25).max(64),
  memoryMb: z.number().int().min(256).max(262_144),
  /**
   * Sandboxes each workspace host keeps started ahead for this workspace (local driver only), so
   * a launch takes one at once instead of starting it; each is started fresh, handed to one
   * session and never reused. Each costs the memory of an idle workspace; the host's own
   * NEOSC_HOST_WARM_LIMIT caps the total.
   */
  warm: z.number().int().min(0).max(20),
  allowedRoles: z.array(RoleSchema).min(1).max(3),
  organizationId: IdSchema.nullable(),
  enabled: z.boolean(),
  tags: z.array(TagSchema).max(16),
  /**
   * Recording of this workspace's sessions beyond the `recording` policy: `on` or `required`
   * (the stricter of the two applies, see `recordingMode`); null: as the policy says.
   */
  recording: z.enum(["on", "required"]).nullable(),
};

const WorkspaceFieldsSchema = z.strictObject({
  ...workspaceFields,
  description: workspaceFields.description.default(""),
  image: workspaceFields.image.default(null),
  url: workspaceFields.url.default(null),
  // Optional rather than defaulted: an absent driver field is stored as null.
  driver: workspaceFields.driver.optional(),
  program: workspaceFields.program.optional(),
  target: workspaceFields.target.optional(),
  sshTarget: workspaceFields.sshTarget.optional(),
  sshCredential: workspaceFields.sshCredential.optional(),
  vncPassword: workspaceFields.vncPassword.optional(),
  cpu: workspaceFields.cpu.default(1),
  memoryMb: workspaceFields.memoryMb.default(2048),
  warm: workspaceFields.warm.default(0),
  organizationId: workspaceFields.organizationId.default(null),
  enabled: workspaceFields.enabled.default(true),
  tags: workspaceFields.tags.default([]),
  // Optional like the driver fields: callers that predate it need not name it; absent is null.
  recording: workspaceFields.recording.optional(),
});

function kindNeedsTarget(
  value: {
    kind: WorkspaceKind;
    image?: string | null;
    url?: string | null;
    driver?: WorkspaceDriver | null;
    program?: WorkspaceProgram | null;
    target?: VncTarget | null;
    sshTarget?: SshTarget | null;
  },
  ctx: z.RefinementCtx,
) {
  if (value.kind === "web" && !value.url) {
    ctx.addIssue({ code: "custom", path: ["url"], message: "a web workspace needs a URL" });
  }
  if (value.kind === "terminal") {
    const shell = value.driver === "local" && value.program === "shell";
    if (!shell && value.driver !== "ssh") {
      ctx.addIssue({
        code: "custom",
        path: ["driver"],
        message: "a terminal workspace is a local shell or an ssh host",
      });
    }
  } else if (value.program === "shell" || value.driver === "ssh") {
    ctx.addIssue({
      code: "custom",
      path: [value.driver === "ssh" ? "driver" : "program"],
      message: "only a terminal workspace runs a shell",
    });
  }
  if (value.kind !== "web" && value.kind !== "terminal" && !value.image && !value.driver) {
    ctx.addIssue({ code: "custom", path: ["image"], message: "a desktop or app workspace needs an image" });
  }
  if (value.driver === "ssh" && !value.sshTarget) {
    ctx.addIssue({
      code: "custom",
      path: ["sshTarget"],
      message: "an ssh workspace needs a host, port, user name and host key",
    });
  }
  if (value.driver === "kubernetes" && !value.image) {
    ctx.addIssue({
      code: "custom",
      path: ["image"],
      message: "a Kubernetes workspace needs a container image",
    });
  }
  if (value.driver === "local" && !value.program) {
    ctx.addIssue({ code: "custom", path: ["program"], message: "a local workspace needs a program" });
  }
  if (value.driver === "static" && !value.target) {
    ctx.addIssue({
      code: "custom",
      path: ["target"],
      message: "a static workspace needs a VNC host and port",
    });
  }
}

export const CreateWorkspaceInputSchema = WorkspaceFieldsSchema.superRefine(kindNeedsTarget);
export type CreateWorkspaceInput = z.infer<typeof CreateWorkspaceInputSchema>;

/** Partial update; the kind/target rule is re-checked against the merged document by the domain. */
export const UpdateWorkspaceInputSchema = z.strictObject({
  id: IdSchema,
  patch: z
    .strictObject(workspaceFields)
    .partial()
    .refine((patch) => Object.keys(patch).length > 0, "nothing to change"),
});
export type UpdateWorkspaceInput = z.infer<typeof UpdateWorkspaceInputSchema>;

export const WorkspaceSchema = z.object({
  id: IdSchema,
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  kind: WorkspaceKindSchema,
  image: z.string().nullable(),
  url: z.string().nullable(),
  driver: WorkspaceDriverSchema.nullable(),
  program: WorkspaceProgramSchema.nullable(),
  target: VncTargetSchema.nullable(),
  /** Whether a VNC password is stored (the password itself never leaves the server). */
  hasVncPassword: z.boolean(),
  sshTarget: SshTargetSchema.nullable(),
  /** Whether an ssh password or private key is stored (never itself part of an output). */
  hasSshCredential: z.boolean(),
  cpu: z.number(),
  memoryMb: z.number(),
  /** Sandboxes kept started ahead per host (local driver). */
  warm: z.number().int(),
  allowedRoles: z.array(RoleSchema),
  organizationId: IdSchema.nullable(),
  enabled: z.boolean(),
  tags: z.array(z.string()),
  recording: z.enum(["on", "required"]).nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type Workspace = z.infer<typeof WorkspaceSchema>;

export const ListWorkspacesInputSchema = z
  .strictObject({
    kind: WorkspaceKindSchema.optional(),
    tag: TagSchema.optional(),
    search: z.string().trim().max(120).optional(),
    role: RoleSchema.optional(),
    enabled: z.boolean().optional(),
    /** Only what the caller may launch (enabled, their role, global or their organization), also for admins. */
    launchable: z.boolean().optional(),
  })
  .default({});
export type ListWorkspacesInput = z.infer<typeof ListWorkspacesInputSchema>;

export const WorkspaceIdInputSchema = z.strictObject({ id: IdSchema });
export const LaunchWorkspaceInputSchema = z.strictObject({ workspaceId: IdSchema });
export type LaunchWorkspaceInput = z.infer<typeof LaunchWorkspaceInputSchema>;
export const StopWorkspaceInputSchema = z.strictObject({ workspaceId: IdSchema });

export const DeleteWorkspaceOutputSchema = z.object({
  ok: z.literal(true),
  /** Active sessions of the workspace that were ended with reason `workspace_deleted`. */
  endedSessions: z.number().int(),
});

/** workspace.reset: the restored catalogue and how many other workspaces were removed. */
export const ResetWorkspacesOutputSchema = z.object({
  workspaces: z.array(WorkspaceSchema),
  removed: z.number().int(),
  endedSessions: z.number().int(),
});
