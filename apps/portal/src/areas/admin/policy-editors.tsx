import { CidrSchema } from "@neosc/core/common";
import { POLICY_SETTINGS_SCHEMAS, type Policy, type PolicyKey } from "@neosc/core/policy";
import { type FormEvent, type ReactNode, useState } from "react";
import { Button } from "../../components/ui/button.tsx";
import { FieldShell, FormError, TextAreaField, TextField } from "../../components/ui/field.tsx";
import { useFormErrors } from "../../lib/use-form.ts";
import { collapseListErrors, type FieldErrors, parseForm } from "../../lib/validation.ts";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** Bounds straight from the core schema, so the inputs and the API agree. */
function numberBounds(key: "max-concurrent-sessions" | "session-max-duration" | "idle-timeout") {
  const shape = POLICY_SETTINGS_SCHEMAS[key].shape;
  const field = "limit" in shape ? shape.limit : shape.minutes;
  return { min: field.minValue ?? undefined, max: field.maxValue ?? undefined };
}

function SettingsForm({
  policyKey,
  build,
  precheck,
  onSave,
  children,
}: {
  policyKey: PolicyKey;
  build: () => unknown;
  /** Errors the schema would report less precisely (which list entry is wrong). */
  precheck?: () => FieldErrors;
  onSave: (settings: Record<string, unknown>) => Promise<void>;
  children: (errors: FieldErrors) => ReactNode;
}) {
  const { errors, setErrors, formError, setFormError, showRefusal } = useFormErrors();
  const [pending, setPending] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const early = precheck?.() ?? {};
    if (Object.keys(early).length > 0) {
      setErrors(early);
      return;
    }
    const parsed = parseForm(POLICY_SETTINGS_SCHEMAS[policyKey], build());
    if (!parsed.success) {
      setErrors(collapseListErrors(parsed.fieldErrors));
      return;
    }
    setErrors({});
    setPending(true);
    try {
      await onSave(parsed.data as Record<string, unknown>);
    } catch (error) {
      showRefusal(error, { prefix: "settings.", collapseLists: true });
    } finally {
      setPending(false);
    }
  }

  return (
    <form noValidate onSubmit={(event) => void submit(event)} className="space-y-3">
      {children(errors)}
      <FormError>{formError ?? errors._form?.join(" ")}</FormError>
      <Button type="submit" size="sm" variant="secondary" loading={pending}>
        Save settings
      </Button>
    </form>
  );
}

function NumberEditor({
  policy,
  field,
  label,
  unit,
  onSave,
}: {
  policy: Extract<Policy, { key: "max-concurrent-sessions" | "session-max-duration" | "idle-timeout" }>;
  field: "limit" | "minutes";
  label: string;
  unit: string;
  onSave: (settings: Record<string, unknown>) => Promise<void>;
}) {
  const initial = (policy.settings as Record<string, number>)[field] ?? 0;
  const [value, setValue] = useState(String(initial));
  const bounds = numberBounds(policy.key);
  return (
    <SettingsForm
      policyKey={policy.key}
      build={() => ({ [field]: value.trim() === "" ? Number.NaN : Number(value) })}
      onSave={onSave}
    >
      {(errors) => (
        <TextField
          wrapperClassName="max-w-xs"
          label={label}
          type="number"
          inputMode="numeric"
          min={bounds.min}
          max={bounds.max}
          hint={`${bounds.min}–${bounds.max} ${unit}`}
          value={value}
          onChange={(event) => setValue(event.target.value)}
          errors={errors[field]}
        />
      )}
    </SettingsForm>
  );
}

function IpAllowlistEditor({
  policy,
  onSave,
}: {
  policy: Extract<Policy, { key: "ip-allowlist" }>;
  onSave: (settings: Record<string, unknown>) => Promise<void>;
}) {
  const [text, setText] = useState(policy.settings.cidrs.join("\n"));
  const blocks = () =>
    text
      .split(/[\s,]+/)
      .map((line) => line.trim())
      .filter(Boolean);
  return (
    <SettingsForm
      policyKey="ip-allowlist"
      build={() => ({ cidrs: blocks() })}
      precheck={(): FieldErrors => {
        const bad = blocks().filter((block) => !CidrSchema.safeParse(block).success);
        return bad.length === 0
          ? {}
          : { cidrs: [`Not a CIDR block: ${bad.join(", ")} (write e.g. 10.0.0.0/8)`] };
      }}
      onSave={onSave}
    >
      {(errors) => (
        <TextAreaField
          label="Allowed networks (CIDR)"
          hint="One block per line, IPv4 or IPv6 — e.g. 10.0.0.0/8 or 2001:db8::/32. Up to 100."
          rows={5}
          className="font-mono"
          value={text}
          onChange={(event) => setText(event.target.value)}
          errors={errors.cidrs}
        />
      )}
    </SettingsForm>
  );
}

let zones: string[] | null = null;
function timeZones(): string[] {
  zones ??= typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : ["UTC"];
  return zones;
}

function AccessHoursEditor({
  policy,
  onSave,
}: {
  policy: Extract<Policy, { key: "access-hours" }>;
  onSave: (settings: Record<string, unknown>) => Promise<void>;
}) {
  const [timeZone, setTimeZone] = useState(policy.settings.timeZone);
  const [days, setDays] = useState<number[]>(policy.settings.days);
  const [start, setStart] = useState(policy.settings.start);
  const [end, setEnd] = useState(policy.settings.end);
  return (
    <SettingsForm
      policyKey="access-hours"
      build={() => ({ timeZone: timeZone.trim(), days: [...days].sort(), start, end })}
      onSave={onSave}
    >
      {(errors) => (
        <>
          <FieldShell group label="Days" errors={errors.days}>
            {() => (
              <div className="flex flex-wrap gap-1.5">
                {DAYS.map((day, index) => (
                  <label
                    key={day}
                    className="inline-flex cursor-pointer items-center gap-1.5 rounded-md border border-line px-2 py-1 text-sm text-fg has-checked:border-primary has-checked:bg-primary-soft has-checked:text-primary"
                  >
                    <input
                      type="checkbox"
                      className="size-3.5 accent-primary"
                      checked={days.includes(index)}
                      onChange={(event) =>
                        setDays((current) =>
                          event.target.checked ? [...current, index] : current.filter((d) => d !== index),
                        )
                      }
                    />
                    {day}
                  </label>
                ))}
              </div>
            )}
          </FieldShell>
          <div className="grid gap-3 sm:grid-cols-3">
            <TextField
              label="From"
              type="time"
              value={start}
              onChange={(event) => setStart(event.target.value)}
              errors={errors.start}
            />
            <TextField
              label="Until"
              type="time"
              value={end}
              onChange={(event) => setEnd(event.target.value)}
              errors={errors.end}
            />
            <TextField
              label="Time zone"
              list="neosc-time-zones"
              value={timeZone}
              onChange={(event) => setTimeZone(event.target.value)}
              errors={errors.timeZone}
            />
            <datalist id="neosc-time-zones">
              {timeZones().map((zone) => (
                <option key={zone} value={zone} />
              ))}
            </datalist>
          </div>
        </>
      )}
    </SettingsForm>
  );
}

function ClipboardEditor({
  policy,
  onSave,
}: {
  policy: Extract<Policy, { key: "clipboard" }>;
  onSave: (settings: Record<string, unknown>) => Promise<void>;
}) {
  const [toWorkspace, setToWorkspace] = useState(policy.settings.toWorkspace);
  const [fromWorkspace, setFromWorkspace] = useState(policy.settings.fromWorkspace);
  const [maxBytes, setMaxBytes] = useState(String(policy.settings.maxBytes));
  const bounds = POLICY_SETTINGS_SCHEMAS.clipboard.shape.maxBytes;
  return (
    <SettingsForm
      policyKey="clipboard"
      build={() => ({
        toWorkspace,
        fromWorkspace,
        maxBytes: maxBytes.trim() === "" ? Number.NaN : Number(maxBytes),
      })}
      onSave={onSave}
    >
      {(errors) => (
        <>
          <label className="flex items-center gap-2 text-sm text-fg">
            <input
              type="checkbox"
              className="size-4 accent-primary"
              checked={toWorkspace}
              onChange={(event) => setToWorkspace(event.target.checked)}
            />
            Paste into workspaces
          </label>
          <label className="flex items-center gap-2 text-sm text-fg">
            <input
              type="checkbox"
              className="size-4 accent-primary"
              checked={fromWorkspace}
              onChange={(event) => setFromWorkspace(event.target.checked)}
            />
            Copy out of workspaces
          </label>
          <TextField
            wrapperClassName="max-w-xs"
            label="Largest paste"
            type="number"
            inputMode="numeric"
            min={bounds.minValue ?? undefined}
            max={bounds.maxValue ?? undefined}
            hint={`${bounds.minValue}–${bounds.maxValue} bytes`}
            value={maxBytes}
            onChange={(event) => setMaxBytes(event.target.value)}
            errors={errors.maxBytes}
          />
        </>
      )}
    </SettingsForm>
  );
}

function FileTransferEditor({
  policy,
  onSave,
}: {
  policy: Extract<Policy, { key: "file-transfer" }>;
  onSave: (settings: Record<string, unknown>) => Promise<void>;
}) {
  const [upload, setUpload] = useState(policy.settings.upload);
  const [download, setDownload] = useState(policy.settings.download);
  const direction = (label: string, checked: boolean, set: (value: boolean) => void) => (
    <label className="inline-flex cursor-pointer items-center gap-2 text-sm text-fg">
      <input
        type="checkbox"
        className="size-4 accent-primary"
        checked={checked}
        onChange={(event) => set(event.target.checked)}
      />
      {label}
    </label>
  );
  return (
    <SettingsForm policyKey="file-transfer" build={() => ({ upload, download })} onSave={onSave}>
      {() => (
        <div className="flex flex-wrap gap-4">
          {direction("Allow uploads (files sent to the app)", upload, setUpload)}
          {direction("Allow downloads (files saved from the app)", download, setDownload)}
        </div>
      )}
    </SettingsForm>
  );
}

function RecordingEditor({
  policy,
  onSave,
}: {
  policy: Extract<Policy, { key: "recording" }>;
  onSave: (settings: Record<string, unknown>) => Promise<void>;
}) {
  const [mode, setMode] = useState(policy.settings.mode);
  const [retentionDays, setRetentionDays] = useState(String(policy.settings.retentionDays));
  const [recordInput, setRecordInput] = useState(policy.settings.recordInput);
  const bounds = POLICY_SETTINGS_SCHEMAS.recording.shape.retentionDays;
  return (
    <SettingsForm
      policyKey="recording"
      build={() => ({
        mode,
        retentionDays: retentionDays.trim() === "" ? Number.NaN : Number(retentionDays),
        recordInput,
      })}
      onSave={onSave}
    >
      {(errors) => (
        <>
          <fieldset className="space-y-1 text-sm text-fg">
            <legend className="mb-1 font-medium">When recording does not work</legend>
            <label className="flex items-center gap-2">
              <input
                type="radio"
                name="recording-mode"
                className="size-4 accent-primary"
                checked={mode === "on"}
                onChange={() => setMode("on")}
              />
              The session goes on unrecorded (the failure is audited)
            </label>
            <label className="flex items-center gap-2">
              <input
                type="radio"
                name="recording-mode"
                className="size-4 accent-primary"
                checked={mode === "required"}
                onChange={() => setMode("required")}
              />
              Required: the launch is refused, or the session ends
            </label>
          </fieldset>
          <TextField
            wrapperClassName="max-w-xs"
            label="Keep recordings for"
            type="number"
            inputMode="numeric"
            min={bounds.minValue ?? undefined}
            max={bounds.maxValue ?? undefined}
            hint={`${bounds.minValue}–${bounds.maxValue} days; older recordings are deleted (audited)`}
            value={retentionDays}
            onChange={(event) => setRetentionDays(event.target.value)}
            errors={errors.retentionDays}
          />
          <label className="flex items-start gap-2 text-sm text-fg">
            <input
              type="checkbox"
              className="mt-0.5 size-4 accent-primary"
              checked={recordInput}
              onChange={(event) => setRecordInput(event.target.checked)}
            />
            <span>
              Also record what is typed in terminals
              <span className="block text-xs text-fg-muted">
                Typed input contains passwords (sudo, ssh, database prompts) in clear text. Off by default;
                desktop keystrokes are never recorded.
              </span>
            </span>
          </label>
          <p className="text-xs text-fg-muted">
            A workspace in the catalogue can ask for more than this policy (recorded, or recording required),
            never less.
          </p>
        </>
      )}
    </SettingsForm>
  );
}

/** The settings editor for one policy, or null when the policy has no settings. */
export function PolicySettingsEditor({
  policy,
  onSave,
}: {
  policy: Policy;
  onSave: (settings: Record<string, unknown>) => Promise<void>;
}) {
  switch (policy.key) {
    case "max-concurrent-sessions":
      return (
        <NumberEditor
          policy={policy}
          field="limit"
          label="Sessions per person"
          unit="sessions"
          onSave={onSave}
        />
      );
    case "session-max-duration":
      return (
        <NumberEditor policy={policy} field="minutes" label="Maximum length" unit="minutes" onSave={onSave} />
      );
    case "idle-timeout":
      return (
        <NumberEditor
          policy={policy}
          field="minutes"
          label="End after idle for"
          unit="minutes"
          onSave={onSave}
        />
      );
    case "ip-allowlist":
      return <IpAllowlistEditor policy={policy} onSave={onSave} />;
    case "access-hours":
      return <AccessHoursEditor policy={policy} onSave={onSave} />;
    case "clipboard":
      return <ClipboardEditor policy={policy} onSave={onSave} />;
    case "file-transfer":
      return <FileTransferEditor policy={policy} onSave={onSave} />;
    case "recording":
      return <RecordingEditor policy={policy} onSave={onSave} />;
    case "mfa-required":
    case "self-registration":
    case "local-login":
      return null;
    default: {
      const unknown: never = policy;
      return unknown;
    }
  }
}
