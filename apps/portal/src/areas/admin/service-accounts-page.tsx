import { CreateServiceAccountInputSchema } from "@neosc/core/api-token";
import { ROLE_LABEL, ROLES } from "@neosc/core/roles";
import { Bot, Plus } from "lucide-react";
import { type FormEvent, useState } from "react";
import { RoleBadge } from "../../components/role-badge.tsx";
import { Button } from "../../components/ui/button.tsx";
import { type Column, DataTable } from "../../components/ui/data-table.tsx";
import { Modal } from "../../components/ui/dialog.tsx";
import { Badge, EmptyState, ErrorState, PageHeader, Skeleton } from "../../components/ui/feedback.tsx";
import { FormActions, SelectField, TextField } from "../../components/ui/field.tsx";
import { toast } from "../../components/ui/toast.ts";
import { ApiTokensCard } from "../../features/tokens/api-tokens-card.tsx";
import { formatCount, formatDateTime } from "../../lib/format.ts";
import { trpc } from "../../lib/trpc.ts";
import { useForm } from "../../lib/use-form.ts";
import { parseForm } from "../../lib/validation.ts";

const COLUMNS: Column[] = [
  { label: "Service account" },
  { label: "Role" },
  { label: "Active tokens", className: "text-right" },
  { label: "Created", className: "hidden md:table-cell" },
  { label: "Actions", srOnly: true },
];

function CreateServiceAccountForm({ onDone, onCancel }: { onDone: () => void; onCancel: () => void }) {
  const create = trpc.serviceAccount.create.useMutation();
  const form = useForm({ name: "", role: "user" });
  const { values, field, setErrors, formError, setFormError, showRefusal } = form;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const parsed = parseForm(CreateServiceAccountInputSchema, { name: values.name, role: values.role });
    if (!parsed.success) return setErrors(parsed.fieldErrors);
    setErrors({});
    try {
      const account = await create.mutateAsync(parsed.data);
      toast({ title: "Service account created", description: account.name });
      onDone();
    } catch (error) {
      showRefusal(error);
    }
  }

  return (
    <form noValidate onSubmit={(event) => void submit(event)} className="space-y-4">
      <TextField label="Name" hint="What it automates, e.g. “CI pipeline”." autoFocus {...field("name")} />
      <SelectField label="Role" hint="Its tokens can never do more than this role allows." {...field("role")}>
        {ROLES.map((role) => (
          <option key={role} value={role}>
            {ROLE_LABEL[role]}
          </option>
        ))}
      </SelectField>
      <FormActions
        error={formError}
        onCancel={onCancel}
        pending={create.isPending}
        submitLabel="Create service account"
      />
    </form>
  );
}

/** Admins: accounts for automation, each reached only through its API tokens. */
export function ServiceAccountsPage() {
  const utils = trpc.useUtils();
  const list = trpc.serviceAccount.list.useQuery();
  const [creating, setCreating] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const chosen = list.data?.find((entry) => entry.user.id === selected) ?? null;

  return (
    <>
      <PageHeader
        title="Service accounts"
        description="Accounts for scripts and pipelines: a role, no password, only API tokens. Disable one on the Users page to stop all its tokens."
        actions={
          <Button icon={<Plus aria-hidden className="size-4" />} onClick={() => setCreating(true)}>
            New service account
          </Button>
        }
      />
      {list.isPending ? (
        <Skeleton className="h-40" />
      ) : list.error ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : list.data.length === 0 ? (
        <EmptyState title="No service accounts yet" icon={<Bot aria-hidden className="size-8" />}>
          Create one for each tool that calls the API, so its tokens and audit entries are its own.
        </EmptyState>
      ) : (
        <DataTable columns={COLUMNS}>
          {list.data.map(({ user, activeTokens }) => (
            <tr key={user.id} aria-selected={user.id === selected}>
              <td className="px-4 py-3">
                <p className="font-medium text-fg">
                  {user.name} {user.disabled ? <Badge tone="danger">disabled</Badge> : null}
                </p>
                <p className="font-mono text-xs text-fg-muted">{user.email}</p>
              </td>
              <td className="px-4 py-3">
                <RoleBadge role={user.role} />
              </td>
              <td className="px-4 py-3 text-right text-fg tabular-nums">{formatCount(activeTokens)}</td>
              <td className="hidden px-4 py-3 text-xs text-fg-muted md:table-cell">
                {formatDateTime(user.createdAt)}
              </td>
              <td className="px-4 py-3 text-right">
                <Button size="sm" variant="secondary" onClick={() => setSelected(user.id)}>
                  Tokens<span className="sr-only"> of {user.name}</span>
                </Button>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      {chosen !== null ? (
        <div className="mt-6">
          <h2 className="mb-2 text-sm font-medium text-fg-muted">{chosen.user.name}</h2>
          <ApiTokensCard key={chosen.user.id} serviceAccountId={chosen.user.id} />
        </div>
      ) : null}
      <Modal open={creating} onOpenChange={setCreating} title="New service account">
        {creating ? (
          <CreateServiceAccountForm
            onCancel={() => setCreating(false)}
            onDone={() => {
              setCreating(false);
              void utils.serviceAccount.invalidate();
            }}
          />
        ) : null}
      </Modal>
    </>
  );
}
