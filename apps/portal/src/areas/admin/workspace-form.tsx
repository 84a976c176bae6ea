import { ROLE_LABEL, ROLES, type Role } from "@neosc/core/roles";
import {
  type CreateWorkspaceInput,
  CreateWorkspaceInputSchema,
  type Workspace,
  type WorkspaceKind,
  WorkspaceKindSchema,
} from "@neosc/core/workspace";
import { type FormEvent, useState } from "react";
import {
  FieldShell,
  FormActions,
  SelectField,
  TextAreaField,
  TextField,
} from "../../components/ui/field.tsx";
import { KindIcon, kindLabel } from "../../features/workspaces/kind.tsx";
import { cn } from "../../lib/cn.ts";
import { describeError } from "../../lib/problem.ts";
import { useForm } from "../../lib/use-form.ts";
import { collapseListErrors, parseForm } from "../../lib/validation.ts";
import { useNameAndSlug } from "./slug.ts";

export interface WorkspaceFormValues {
  name: string;
  slug: string;
  description: string;
  kind: WorkspaceKind;
  image: string;
  url: string;
  cpu: string;
  memoryMb: string;
  /** Sandboxes each host keeps started ahead (local driver). */
  warm: string;
  allowedRoles: Role[];
  organizationId: string;
  enabled: boolean;
  tags: string;
  /** "" follows the `recording` policy; a workspace can only ask for more. */
  recording: "" | "on" | "required";
  /**
   * Desktops and apps: `local:<program>` runs that program in a sandbox on a workspace host,
   * `kubernetes` runs the image as a pod with the CPU and memory below, `keep` leaves a driver
   * set elsewhere (a static VNC target) as it is.
   */
  runsOn: RunsOn;
  /** Terminal workspaces: a shell on a workspace host, or an ssh login to an internal host. */
  terminal: "local" | "ssh";
  sshHost: string;
  sshPort: string;
  sshUsername: string;
  sshHostKey: string;
  sshAuth: "password" | "privateKey";
  /** Write-only: blank on edit keeps the stored credential. */
  sshSecret: string;
}

type RunsOn = "local:desktop" | "local:firefox" | "local:terminal" | "kubernetes" | "keep";

/**
 * Where a desktop or an app can run, per kind. The first is a new entry's default: a sandbox on
 * the workspace hosts, which every install has (the embedded default runs no Kubernetes host).
 */
const RUNS_ON_CHOICES: Record<"desktop" | "app", ReadonlyArray<{ value: RunsOn; label: string }>> = {
  desktop: [
    { value: "local:desktop", label: "Sandbox on a host: full desktop" },
    { value: "kubernetes", label: "Kubernetes: a pod from the image" },
  ],
  app: [
    { value: "local:firefox", label: "Sandbox on a host: Firefox" },
    { value: "local:terminal", label: "Sandbox on a host: xterm" },
    { value: "kubernetes", label: "Kubernetes: a pod from the image" },
  ],
};

function runsOnOf(workspace: Workspace | null): RunsOn {
  if (workspace === null) return "local:desktop";
  if (workspace.driver === "kubernetes") return "kubernetes";
  if (workspace.driver === "local" && workspace.program !== null && workspace.program !== "shell")
    return `local:${workspace.program}`;
  return "keep";
}

/** The choice that applies to this kind: one of its own, kept as configured, or its default. */
function effectiveRunsOn(kind: "desktop" | "app", runsOn: RunsOn): RunsOn {
  const choices = RUNS_ON_CHOICES[kind];
  if (runsOn === "keep" || choices.some((choice) => choice.value === runsOn)) return runsOn;
  return choices[0]?.value ?? "keep";
}

function runsOnInput(kind: "desktop" | "app", runsOn: RunsOn): Record<string, unknown> {
  const effective = effectiveRunsOn(kind, runsOn);
  if (effective === "kubernetes") return { driver: "kubernetes", program: null };
  if (effective.startsWith("local:")) return { driver: "local", program: effective.slice("local:".length) };
  return {};
}

export function valuesFrom(workspace: Workspace | null): WorkspaceFormValues {
  return {
    name: workspace?.name ?? "",
    slug: workspace?.slug ?? "",
    description: workspace?.description ?? "",
    kind: workspace?.kind ?? "desktop",
    image: workspace?.image ?? "",
    url: workspace?.url ?? "",
    cpu: String(workspace?.cpu ?? 1),
    memoryMb: String(workspace?.memoryMb ?? 2048),
    warm: String(workspace?.warm ?? 0),
    allowedRoles: workspace?.allowedRoles ?? ["user", "neosc", "admin"],
    organizationId: workspace?.organizationId ?? "",
    enabled: workspace?.enabled ?? true,
    tags: workspace?.tags.join(", ") ?? "",
    recording: workspace?.recording ?? "",
    runsOn: runsOnOf(workspace),
    terminal: workspace?.driver === "ssh" ? "ssh" : "local",
    sshHost: workspace?.sshTarget?.host ?? "",
    sshPort: String(workspace?.sshTarget?.port ?? 22),
    sshUsername: workspace?.sshTarget?.username ?? "",
    sshHostKey: workspace?.sshTarget?.hostKey ?? "",
    sshAuth: "password",
    sshSecret: "",
  };
}

function numberOrNaN(text: string): number {
  return text.trim() === "" ? Number.NaN : Number(text);
}

function terminalInput(values: WorkspaceFormValues): Record<string, unknown> {
  if (values.terminal === "local") return { driver: "local", program: "shell", sshTarget: null };
  const secret = values.sshAuth === "password" ? values.sshSecret : values.sshSecret.trim();
  return {
    driver: "ssh",
    program: null,
    sshTarget: {
      host: values.sshHost,
      port: numberOrNaN(values.sshPort),
      username: values.sshUsername,
      hostKey: values.sshHostKey,
    },
    // Left out when blank, so saving an edit keeps the credential NeoSC already holds.
    ...(secret === ""
      ? {}
      : {
          sshCredential:
            values.sshAuth === "password"
              ? { kind: "password", password: secret }
              : { kind: "privateKey", privateKey: secret },
        }),
  };
}

/** The API's input built from what the form holds (before validation). */
export function toInput(values: WorkspaceFormValues): Record<string, unknown> {
  return {
    name: values.name,
    slug: values.slug,
    description: values.description,
    kind: values.kind,
    image: values.kind === "web" || values.kind === "terminal" ? null : values.image.trim() || null,
    url: values.kind === "web" ? values.url.trim() || null : null,
    ...(values.kind === "terminal" ? terminalInput(values) : {}),
    ...(values.kind === "desktop" || values.kind === "app" ? runsOnInput(values.kind, values.runsOn) : {}),
    cpu: numberOrNaN(values.cpu),
    memoryMb: numberOrNaN(values.memoryMb),
    warm: numberOrNaN(values.warm),
    allowedRoles: values.allowedRoles,
    organizationId: values.organizationId || null,
    enabled: values.enabled,
    tags: values.tags
      .split(",")
      .map((tag) => tag.trim())
      .filter((tag) => tag.length > 0),
    recording: values.recording === "" ? null : values.recording,
  };
}

export interface WorkspaceFormProps {
  initial: Workspace | null;
  organizations: ReadonlyArray<{ id: string; name: string }>;
  /** Throws the API's error on refusal; field errors land on their fields. */
  onSubmit: (input: CreateWorkspaceInput) => Promise<void>;
  onCancel: () => void;
  /** Where the server nests the fields (`patch.` for workspace.update). */
  serverFieldPrefix?: string;
}

/** Create/edit a catalogue entry, validated by the API's own schema before sending. */
export function WorkspaceForm({
  initial,
  organizations,
  onSubmit,
  onCancel,
  serverFieldPrefix = "",
}: WorkspaceFormProps) {
  const form = useForm<WorkspaceFormValues>(() => valuesFrom(initial));
  const { values, set, field, errors, setErrors, formError, setFormError, showRefusal } = form;
  const nameAndSlug = useNameAndSlug(form, initial !== null);
  const [pending, setPending] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const parsed = parseForm(CreateWorkspaceInputSchema, toInput(values));
    if (!parsed.success) {
      setErrors(collapseListErrors(parsed.fieldErrors));
      return;
    }
    setErrors({});
    setPending(true);
    try {
      await onSubmit(parsed.data);
    } catch (error) {
      showRefusal(error, {
        describe: (e) => (e.domain?.reason === "invalid_input" ? e.message : describeError(e).message),
        prefix: serverFieldPrefix,
        collapseLists: true,
      });
    } finally {
      setPending(false);
    }
  }

  return (
    <form noValidate onSubmit={(event) => void submit(event)} className="space-y-4">
      <div className="grid gap-4 sm:grid-cols-2">
        <TextField label="Name" autoFocus {...nameAndSlug.name} />
        <TextField
          label="Slug"
          hint="Lower-case letters, digits and dashes; part of URLs."
          {...nameAndSlug.slug}
          className="font-mono"
        />
      </div>

      <FieldShell group label="Kind" errors={errors.kind}>
        {() => (
          <div className="grid grid-cols-2 gap-2 sm:grid-cols-4">
            {WorkspaceKindSchema.options.map((kind) => (
              <label
                key={kind}
                className={cn(
                  "relative flex cursor-pointer items-center justify-center gap-2 rounded-lg border px-3 py-2 text-sm has-focus-visible:outline-2 has-focus-visible:outline-offset-2 has-focus-visible:outline-ring",
                  values.kind === kind
                    ? "border-primary bg-primary-soft text-primary"
                    : "border-line text-fg-muted hover:bg-surface-muted",
                )}
              >
                <input
                  type="radio"
                  name="kind"
                  value={kind}
                  checked={values.kind === kind}
                  onChange={() => set("kind", kind)}
                  className="absolute inset-0 size-full cursor-pointer opacity-0"
                />
                <KindIcon kind={kind} className="size-4" />
                {kindLabel(kind)}
              </label>
            ))}
          </div>
        )}
      </FieldShell>

      {values.kind === "web" ? (
        <TextField label="URL" type="url" placeholder="https://wiki.example.com" {...field("url")} />
      ) : values.kind === "terminal" ? (
        <TerminalFields form={form} hasCredential={initial?.hasSshCredential ?? false} />
      ) : (
        <div className="grid gap-4 sm:grid-cols-2">
          <SelectField
            label="Runs on"
            {...field("runsOn")}
            value={effectiveRunsOn(values.kind, values.runsOn)}
            errors={errors.driver ?? errors.program}
          >
            {RUNS_ON_CHOICES[values.kind].map((choice) => (
              <option key={choice.value} value={choice.value}>
                {choice.label}
              </option>
            ))}
            {runsOnOf(initial) === "keep" ? (
              <option value="keep">
                {initial?.driver ? `As configured (${initial.driver} driver)` : "Not set (cannot start here)"}
              </option>
            ) : null}
          </SelectField>
          <TextField
            label="Container image"
            placeholder="kasmweb/firefox:1.16.0"
            {...field("image")}
            className="font-mono"
          />
        </div>
      )}

      <TextAreaField label="Description" {...field("description")} />

      <FieldShell group label="Who may launch it" errors={errors.allowedRoles}>
        {() => (
          <div className="flex flex-wrap gap-4">
            {ROLES.map((role) => (
              <label key={role} className="inline-flex items-center gap-2 text-sm text-fg">
                <input
                  type="checkbox"
                  className="size-4 accent-primary"
                  checked={values.allowedRoles.includes(role)}
                  onChange={(event) =>
                    set(
                      "allowedRoles",
                      event.target.checked
                        ? ROLES.filter((r) => r === role || values.allowedRoles.includes(r))
                        : values.allowedRoles.filter((r) => r !== role),
                    )
                  }
                />
                {ROLE_LABEL[role]}
              </label>
            ))}
          </div>
        )}
      </FieldShell>

      <div className="grid gap-4 sm:grid-cols-3">
        <TextField
          label="CPU cores"
          type="number"
          step="0.25"
          min={0.25}
          max={64}
          inputMode="decimal"
          {...field("cpu")}
        />
        <TextField
          label="Memory (MB)"
          type="number"
          step={256}
          min={256}
          max={262144}
          inputMode="numeric"
          {...field("memoryMb")}
        />
        <TextField
          label="Started ahead"
          hint="Sandboxes each workspace host keeps ready so a launch opens at once (local workspaces; each uses memory while it waits)."
          type="number"
          step={1}
          min={0}
          max={20}
          inputMode="numeric"
          {...field("warm")}
        />
        <SelectField label="Organization" {...field("organizationId")}>
          <option value="">Everyone (global)</option>
          {organizations.map((organization) => (
            <option key={organization.id} value={organization.id}>
              {organization.name}
            </option>
          ))}
        </SelectField>
      </div>

      <TextField label="Tags" hint="Comma-separated, e.g. browser, dev" {...field("tags")} />

      <SelectField
        label="Recording"
        hint="A workspace can only make recording stricter than the recording policy, never switch it off."
        {...field("recording")}
      >
        <option value="">As the recording policy says</option>
        <option value="on">Recorded, even when the policy is off</option>
        <option value="required">Recording required: no recording, no session</option>
      </SelectField>

      <label className="inline-flex items-center gap-2 text-sm text-fg">
        <input
          type="checkbox"
          className="size-4 accent-primary"
          checked={values.enabled}
          onChange={(event) => set("enabled", event.target.checked)}
        />
        Enabled (people can launch it)
      </label>

      <FormActions
        error={formError}
        onCancel={onCancel}
        pending={pending}
        submitLabel={initial ? "Save changes" : "Create workspace"}
      />
    </form>
  );
}

/** Where a terminal runs: a sandboxed shell on the workspace host, or an ssh host with a pinned key. */
function TerminalFields({
  form,
  hasCredential,
}: {
  form: ReturnType<typeof useForm<WorkspaceFormValues>>;
  hasCredential: boolean;
}) {
  const { values, field, errors } = form;
  // Schema errors come back by path (`sshTarget.host`); each input shows its own.
  const at = (key: Parameters<typeof field>[0], path: string) => ({ ...field(key), errors: errors[path] });
  return (
    <div className="space-y-4">
      <SelectField label="Runs on" {...field("terminal")} errors={errors.driver}>
        <option value="local">A shell on the workspace host (sandboxed)</option>
        <option value="ssh">An internal host over ssh</option>
      </SelectField>
      {values.terminal === "ssh" ? (
        <>
          <div className="grid gap-4 sm:grid-cols-3">
            <TextField label="Host" className="font-mono" {...at("sshHost", "sshTarget.host")} />
            <TextField label="Port" inputMode="numeric" {...at("sshPort", "sshTarget.port")} />
            <TextField label="User name" className="font-mono" {...at("sshUsername", "sshTarget.username")} />
          </div>
          <TextField
            label="Host key fingerprint"
            hint="What ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub prints on the host (SHA256:…)."
            placeholder="SHA256:…"
            className="font-mono"
            {...at("sshHostKey", "sshTarget.hostKey")}
            errors={errors["sshTarget.hostKey"] ?? errors.sshTarget}
          />
          <SelectField label="Log in with" {...field("sshAuth")}>
            <option value="password">Password</option>
            <option value="privateKey">Private key</option>
          </SelectField>
          {values.sshAuth === "password" ? (
            <TextField
              label="Password"
              type="password"
              autoComplete="new-password"
              hint={hasCredential ? "Stored; leave blank to keep it." : "Kept by NeoSC, never shown again."}
              {...at("sshSecret", "sshCredential.password")}
            />
          ) : (
            <TextAreaField
              label="Private key"
              className="font-mono"
              hint={
                hasCredential ? "Stored; leave blank to keep it." : "OpenSSH or PEM, without a passphrase."
              }
              {...at("sshSecret", "sshCredential.privateKey")}
            />
          )}
        </>
      ) : null}
    </div>
  );
}
