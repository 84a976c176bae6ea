import { CreateApiTokenInputSchema, TOKEN_PROCEDURES } from "@neosc/core/api-token";
import type { ProcedurePath } from "@neosc/core/permissions";
import { KeyRound, Plus } from "lucide-react";
import { type FormEvent, useState } from "react";
import { Button } from "../../components/ui/button.tsx";
import { ConfirmDialog, Modal } from "../../components/ui/dialog.tsx";
import { Badge, Card, ErrorState, Skeleton } from "../../components/ui/feedback.tsx";
import { FormActions, SelectField, TextField } from "../../components/ui/field.tsx";
import { toast } from "../../components/ui/toast.ts";
import { formatDateTime } from "../../lib/format.ts";
import { trpc } from "../../lib/trpc.ts";
import { useForm } from "../../lib/use-form.ts";
import { parseForm } from "../../lib/validation.ts";

const EXPIRY_DAYS = ["7", "30", "90", "365"];

function CreateTokenForm({
  serviceAccountId,
  onCreated,
  onCancel,
}: {
  serviceAccountId: string | undefined;
  onCreated: (secret: string) => void;
  onCancel: () => void;
}) {
  const create = trpc.apiToken.create.useMutation();
  const form = useForm({ name: "", scope: "read", expiresInDays: "30" });
  const { values, field, setErrors, formError, setFormError, showRefusal } = form;
  const [procedures, setProcedures] = useState<ProcedurePath[]>([]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const parsed = parseForm(CreateApiTokenInputSchema, {
      name: values.name,
      scope: values.scope === "read" ? { kind: "read" } : { kind: "procedures", procedures },
      expiresInDays: Number(values.expiresInDays),
      ...(serviceAccountId === undefined ? {} : { serviceAccountId }),
    });
    if (!parsed.success) return setErrors(parsed.fieldErrors);
    setErrors({});
    try {
      const created = await create.mutateAsync(parsed.data);
      onCreated(created.secret);
    } catch (error) {
      showRefusal(error);
    }
  }

  return (
    <form noValidate onSubmit={(event) => void submit(event)} className="space-y-4">
      <TextField
        label="Name"
        hint="Says where the token is used, e.g. “nightly report”."
        autoFocus
        {...field("name")}
      />
      <SelectField label="Scope" {...field("scope")}>
        <option value="read">Read only (every query, no changes)</option>
        <option value="procedures">Only the procedures I choose</option>
      </SelectField>
      {values.scope === "procedures" ? (
        <fieldset className="max-h-56 space-y-1 overflow-y-auto rounded-lg border border-line p-3">
          <legend className="px-1 text-sm text-fg-muted">Procedures this token may call</legend>
          {TOKEN_PROCEDURES.map((procedure) => (
            <label key={procedure} className="flex items-center gap-2 font-mono text-sm text-fg">
              <input
                type="checkbox"
                checked={procedures.includes(procedure)}
                onChange={(event) =>
                  setProcedures((current) =>
                    event.target.checked ? [...current, procedure] : current.filter((p) => p !== procedure),
                  )
                }
              />
              {procedure}
            </label>
          ))}
        </fieldset>
      ) : null}
      <SelectField label="Expires after" {...field("expiresInDays")}>
        {EXPIRY_DAYS.map((days) => (
          <option key={days} value={days}>
            {days} days
          </option>
        ))}
      </SelectField>
      <FormActions
        error={formError}
        onCancel={onCancel}
        pending={create.isPending}
        submitLabel="Create token"
      />
    </form>
  );
}

/**
 * API tokens of the signed-in person, or (admins) of one service account: list, create (the
 * secret is shown once), revoke.
 */
export function ApiTokensCard({ serviceAccountId }: { serviceAccountId?: string }) {
  const utils = trpc.useUtils();
  const input = serviceAccountId === undefined ? {} : { serviceAccountId };
  const list = trpc.apiToken.list.useQuery(input);
  const revoke = trpc.apiToken.revoke.useMutation();
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<{ id: string; name: string } | null>(null);
  const now = Date.now();

  return (
    <Card className="p-5">
      <div className="mb-3 flex items-start justify-between gap-3">
        <div>
          <h2 className="text-lg font-semibold text-fg">API tokens</h2>
          <p className="text-sm text-fg-muted">
            For scripts and tools: send <code className="font-mono">Authorization: Bearer &lt;token&gt;</code>{" "}
            to{" "}
            <a className="underline" href="/api/docs">
              the REST API
            </a>
            . A token acts as {serviceAccountId === undefined ? "you" : "the service account"}, within its
            scope.
          </p>
        </div>
        <Button size="sm" icon={<Plus aria-hidden className="size-4" />} onClick={() => setCreating(true)}>
          New token
        </Button>
      </div>
      {secret !== null ? (
        <div
          role="status"
          className="mb-3 rounded-lg border border-warning/40 bg-warning-soft p-3 text-sm text-fg"
        >
          <p className="mb-2 font-medium">Copy the token now: it is shown only once.</p>
          <code className="block font-mono text-xs break-all select-all">{secret}</code>
          <div className="mt-2 flex gap-2">
            <Button
              size="sm"
              variant="secondary"
              onClick={() =>
                void navigator.clipboard?.writeText(secret).then(() => toast({ title: "Token copied" }))
              }
            >
              Copy
            </Button>
            <Button size="sm" variant="ghost" onClick={() => setSecret(null)}>
              Done
            </Button>
          </div>
        </div>
      ) : null}
      {list.isPending ? (
        <Skeleton className="h-20" />
      ) : list.error ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : list.data.length === 0 ? (
        <p className="text-sm text-fg-muted">No tokens yet.</p>
      ) : (
        <ul className="divide-y divide-line">
          {list.data.map((token) => {
            const state =
              token.revokedAt !== null ? "revoked" : token.expiresAt.getTime() <= now ? "expired" : "active";
            return (
              <li key={token.id} className="flex flex-wrap items-center justify-between gap-2 py-2.5">
                <div className="min-w-0">
                  <p className="flex items-center gap-2 font-medium text-fg">
                    <KeyRound aria-hidden className="size-4 text-fg-muted" />
                    {token.name}
                    <Badge tone={state === "active" ? "success" : "neutral"}>{state}</Badge>
                  </p>
                  <p className="text-xs text-fg-muted">
                    <span className="font-mono">{token.prefix}…</span> ·{" "}
                    {token.scope.kind === "read" ? "read only" : token.scope.procedures.join(", ")} · expires{" "}
                    {formatDateTime(token.expiresAt)} · last used{" "}
                    {token.lastUsedAt ? formatDateTime(token.lastUsedAt) : "never"}
                  </p>
                </div>
                {state === "active" ? (
                  <Button
                    size="sm"
                    variant="danger"
                    onClick={() => setRevoking({ id: token.id, name: token.name })}
                  >
                    Revoke
                  </Button>
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
      <Modal open={creating} onOpenChange={setCreating} title="New API token" wide>
        {creating ? (
          <CreateTokenForm
            serviceAccountId={serviceAccountId}
            onCancel={() => setCreating(false)}
            onCreated={(value) => {
              setCreating(false);
              setSecret(value);
              void utils.apiToken.invalidate();
              void utils.serviceAccount.invalidate();
            }}
          />
        ) : null}
      </Modal>
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => {
          if (!open) setRevoking(null);
        }}
        title={`Revoke ${revoking?.name ?? "token"}?`}
        description="Scripts using it stop working at once. This cannot be undone."
        confirmLabel="Revoke token"
        loading={revoke.isPending}
        onConfirm={async () => {
          if (revoking === null) return;
          await revoke.mutateAsync({ id: revoking.id });
          toast({ title: "Token revoked", description: revoking.name });
          setRevoking(null);
          void utils.apiToken.invalidate();
          void utils.serviceAccount.invalidate();
        }}
      />
    </Card>
  );
}
