import {
  CreateOrganizationInputSchema,
  type OrganizationWithCount,
  UpdateOrganizationInputSchema,
} from "@neosc/core/organization";
import { ROLE_LABEL } from "@neosc/core/roles";
import { keepPreviousData } from "@tanstack/react-query";
import { Pencil, Plus, Trash2 } from "lucide-react";
import { type FormEvent, useState } from "react";
import { Button } from "../../components/ui/button.tsx";
import { type Column, DataTable } from "../../components/ui/data-table.tsx";
import { ConfirmDialog, Modal } from "../../components/ui/dialog.tsx";
import { Badge, EmptyState, ErrorState, PageHeader, Skeleton } from "../../components/ui/feedback.tsx";
import { FormActions, TextField } from "../../components/ui/field.tsx";
import { LoadMore } from "../../components/ui/load-more.tsx";
import { toast, toastError } from "../../components/ui/toast.ts";
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
      <TextField
        label="Domain (optional)"
        placeholder="example.com"
        hint="The email domain of its people, such as example.com; one organization per domain."
        {...field("domain")}
      />
      <FormActions
        error={formError}
        onCancel={onCancel}
        pending={create.isPending || update.isPending}
        submitLabel={initial ? "Save" : "Create organization"}
      />
    </form>
  );
}

/** Who belongs to an organization, a page at a time (user.list filtered by organization). */
function Members({ organization }: { organization: OrganizationWithCount }) {
  const members = trpc.user.list.useInfiniteQuery(
    { organizationId: organization.id, limit: 25 },
    { getNextPageParam: (page) => page.nextCursor ?? undefined, placeholderData: keepPreviousData },
  );
  if (members.isPending) return <Skeleton className="h-32" />;
  if (members.error) return <ErrorState error={members.error} onRetry={() => void members.refetch()} />;
  const rows = members.data.pages.flatMap((page) => page.items);
  if (rows.length === 0) return <p className="text-sm text-fg-muted">Nobody belongs to it.</p>;
  return (
    <div className="space-y-3">
      <ul aria-label={`Members of ${organization.name}`} className="divide-y divide-line">
        {rows.map((member) => (
          <li key={member.id} className="flex flex-wrap items-center justify-between gap-2 py-2">
            <span className="min-w-0">
              <span className="block font-medium break-words text-fg">{member.name}</span>
              <span className="block text-xs break-all text-fg-muted">{member.email}</span>
            </span>
            <span className="flex gap-1">
              <Badge>{ROLE_LABEL[member.role]}</Badge>
              {member.disabled ? <Badge tone="danger">Disabled</Badge> : null}
            </span>
          </li>
        ))}
      </ul>
      <LoadMore query={members} />
    </div>
  );
}

export function OrganizationsPage() {
  const utils = trpc.useUtils();
  const list = trpc.organization.list.useQuery();
  const [editing, setEditing] = useState<OrganizationWithCount | "new" | null>(null);
  const [viewing, setViewing] = useState<OrganizationWithCount | null>(null);
  const [deleting, setDeleting] = useState<OrganizationWithCount | null>(null);
  const remove = trpc.organization.delete.useMutation();

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
              <td className="px-4 py-3 text-right text-fg tabular-nums">
                <Button
                  size="sm"
                  variant="ghost"
                  aria-label={`Members of ${org.name}: ${formatCount(org.memberCount)}`}
                  onClick={() => setViewing(org)}
                >
                  {formatCount(org.memberCount)}
                </Button>
              </td>
              <td className="hidden px-4 py-3 text-xs text-fg-muted md:table-cell">
                {formatDateTime(org.createdAt)}
              </td>
              <td className="px-4 py-3 text-right">
                <div className="flex justify-end gap-1">
                  <Button
                    size="sm"
                    variant="ghost"
                    aria-label={`Edit ${org.name}`}
                    icon={<Pencil aria-hidden className="size-4" />}
                    onClick={() => setEditing(org)}
                  />
                  <Button
                    size="sm"
                    variant="ghost"
                    className="text-danger"
                    aria-label={`Delete ${org.name}`}
                    icon={<Trash2 aria-hidden className="size-4" />}
                    onClick={() => setDeleting(org)}
                  />
                </div>
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
      <Modal
        open={viewing !== null}
        onOpenChange={(open) => {
          if (!open) setViewing(null);
        }}
        title={`Members of ${viewing?.name ?? ""}`}
      >
        {viewing ? <Members organization={viewing} /> : null}
      </Modal>
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(open) => {
          if (!open) setDeleting(null);
        }}
        title={`Delete ${deleting?.name ?? "this organization"}?`}
        description={
          deleting !== null && deleting.memberCount > 0
            ? `It still has ${deleting.memberCount === 1 ? "1 member" : `${formatCount(deleting.memberCount)} members`}: NeoSC deletes only an organization nobody and no workspace belongs to. Move them first.`
            : "Only an organization with no members and no workspaces can be deleted. This cannot be undone."
        }
        confirmLabel="Delete organization"
        loading={remove.isPending}
        onConfirm={() => {
          if (!deleting) return;
          remove
            .mutateAsync({ id: deleting.id })
            .then(() => toast({ title: "Organization deleted", description: deleting.name }))
            .catch(toastError)
            .finally(() => {
              setDeleting(null);
              void utils.organization.invalidate();
            });
        }}
      />
    </>
  );
}
