import {
  CreateOrganizationInputSchema,
  type OrganizationWithCount,
  UpdateOrganizationInputSchema,
} from "@neosc/core/organization";
import { Pencil, Plus } from "lucide-react";
import { type FormEvent, useState } from "react";
import { Button } from "../../components/ui/button.tsx";
import { type Column, DataTable } from "../../components/ui/data-table.tsx";
import { Modal } from "../../components/ui/dialog.tsx";
import { EmptyState, ErrorState, PageHeader, Skeleton } from "../../components/ui/feedback.tsx";
import { FormActions, TextField } from "../../components/ui/field.tsx";
import { toast } from "../../components/ui/toast.ts";
import { formatCount, formatDateTime } from "../../lib/format.ts";
import { trpc } from "../../lib/trpc.ts";
import { useForm } from "../../lib/use-form.ts";
import { parseForm } from "../../lib/validation.ts";
import { useNameAndSlug } from "./slug.ts";

const COLUMNS: Column[] = [
  { label: "Organization" },
  { label: "Domain" },
  { label: "Members", className: "text-right" },
  { label: "Created", className: "hidden md:table-cell" },
  { label: "Actions", srOnly: true },
];

function OrganizationForm({
  initial,
  onDone,
  onCancel,
}: {
  initial: OrganizationWithCount | null;
  onDone: () => void;
  onCancel: () => void;
}) {
  const create = trpc.organization.create.useMutation();
  const update = trpc.organization.update.useMutation();
  const form = useForm({
    name: initial?.name ?? "",
    slug: initial?.slug ?? "",
    domain: initial?.domain ?? "",
  });
  const { values, field, setErrors, formError, setFormError, showRefusal } = form;
  const nameAndSlug = useNameAndSlug(form, initial !== null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const domain = values.domain.trim() || null;
    try {
      if (initial) {
        const parsed = parseForm(UpdateOrganizationInputSchema, {
          id: initial.id,
          name: values.name,
          domain,
        });
        if (!parsed.success) return setErrors(parsed.fieldErrors);
        setErrors({});
        await update.mutateAsync(parsed.data);
      } else {
        const parsed = parseForm(CreateOrganizationInputSchema, {
          name: values.name,
          slug: values.slug,
          domain,
        });
        if (!parsed.success) return setErrors(parsed.fieldErrors);
        setErrors({});
        await create.mutateAsync(parsed.data);
      }
      toast({ title: initial ? "Organization saved" : "Organization created", description: values.name });
      onDone();
    } catch (error) {
      showRefusal(error);
    }
  }

  return (
    <form noValidate onSubmit={(event) => void submit(event)} className="space-y-4">
      <TextField label="Name" autoFocus {...nameAndSlug.name} />
      <TextField
        label="Slug"
        hint={initial ? "The slug cannot change." : "Lower-case letters, digits and dashes."}
        disabled={initial !== null}
        {...nameAndSlug.slug}
        className="font-mono"
      />
      <TextField label="Domain (optional)" placeholder="example.com" {...field("domain")} />
      <FormActions
        error={formError}
        onCancel={onCancel}
        pending={create.isPending || update.isPending}
        submitLabel={initial ? "Save" : "Create organization"}
      />
    </form>
  );
}

export function OrganizationsPage() {
  const utils = trpc.useUtils();
  const list = trpc.organization.list.useQuery();
  const [editing, setEditing] = useState<OrganizationWithCount | "new" | null>(null);

  return (
    <>
      <PageHeader
        title="Organizations"
        description="Group people; workspaces can be limited to one organization."
        actions={
          <Button icon={<Plus aria-hidden className="size-4" />} onClick={() => setEditing("new")}>
            New organization
          </Button>
        }
      />
      {list.isPending ? (
        <Skeleton className="h-60" />
      ) : list.error ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : list.data.length === 0 ? (
        <EmptyState title="No organizations yet">
          Organizations also appear on their own when people sign in through an identity provider that sends
          one.
        </EmptyState>
      ) : (
        <DataTable columns={COLUMNS}>
          {list.data.map((org) => (
            <tr key={org.id}>
              <td className="px-4 py-3">
                <p className="font-medium text-fg">{org.name}</p>
                <p className="font-mono text-xs text-fg-muted">{org.slug}</p>
                {org.externalId ? <p className="text-xs text-fg-muted">from the identity provider</p> : null}
              </td>
              <td className="px-4 py-3 text-fg-muted">{org.domain ?? "—"}</td>
              <td className="px-4 py-3 text-right text-fg tabular-nums">{formatCount(org.memberCount)}</td>
              <td className="hidden px-4 py-3 text-xs text-fg-muted md:table-cell">
                {formatDateTime(org.createdAt)}
              </td>
              <td className="px-4 py-3 text-right">
                <Button
                  size="sm"
                  variant="ghost"
                  aria-label={`Edit ${org.name}`}
                  icon={<Pencil aria-hidden className="size-4" />}
                  onClick={() => setEditing(org)}
                />
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <Modal
        open={editing !== null}
        onOpenChange={(open) => {
          if (!open) setEditing(null);
        }}
        title={editing === "new" ? "New organization" : `Edit ${editing?.name ?? ""}`}
      >
        {editing !== null ? (
          <OrganizationForm
            key={editing === "new" ? "new" : editing.id}
            initial={editing === "new" ? null : editing}
            onCancel={() => setEditing(null)}
            onDone={() => {
              setEditing(null);
              void utils.organization.invalidate();
            }}
          />
        ) : null}
      </Modal>
    </>
  );
}
