import type { CreateWorkspaceInput, Workspace, WorkspaceKind } from "@neosc/core/workspace";
import { Pencil, Plus, RotateCcw, Trash2 } from "lucide-react";
import { useState } from "react";
import { RoleBadge } from "../../components/role-badge.tsx";
import { Button } from "../../components/ui/button.tsx";
import { type Column, DataTable } from "../../components/ui/data-table.tsx";
import { ConfirmDialog, Modal } from "../../components/ui/dialog.tsx";
import { EmptyState, ErrorState, PageHeader, Skeleton } from "../../components/ui/feedback.tsx";
import { InlineSelect, SearchInput } from "../../components/ui/inline-controls.tsx";
import { Switch } from "../../components/ui/switch.tsx";
import { toast, toastError } from "../../components/ui/toast.ts";
import { KindIcon, kindLabel } from "../../features/workspaces/kind.tsx";
import { trpc } from "../../lib/trpc.ts";
import { WorkspaceForm } from "./workspace-form.tsx";

/** Only the fields that changed, as workspace.update wants them. */
export function workspacePatch(
  before: Workspace,
  after: CreateWorkspaceInput,
): Partial<CreateWorkspaceInput> {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(after)) {
    const old = (before as unknown as Record<string, unknown>)[key];
    if (JSON.stringify(old) !== JSON.stringify(value)) patch[key] = value;
  }
  return patch as Partial<CreateWorkspaceInput>;
}

const COLUMNS: Column[] = [
  { label: "Workspace" },
  { label: "Kind" },
  { label: "Roles" },
  { label: "Organization", className: "hidden md:table-cell" },
  { label: "Enabled" },
  { label: "Actions", srOnly: true, className: "text-right" },
];

export function WorkspacesAdminPage() {
  const utils = trpc.useUtils();
  const list = trpc.workspace.list.useQuery(undefined);
  const organizations = trpc.organization.list.useQuery();
  const create = trpc.workspace.create.useMutation();
  const update = trpc.workspace.update.useMutation();
  const remove = trpc.workspace.delete.useMutation();
  const reset = trpc.workspace.reset.useMutation();
  const [editing, setEditing] = useState<Workspace | "new" | null>(null);
  const [deleting, setDeleting] = useState<Workspace | null>(null);
  const [resetting, setResetting] = useState(false);
  const [search, setSearch] = useState("");
  const [kind, setKind] = useState<WorkspaceKind | "">("");

  const orgs = organizations.data ?? [];
  const orgName = new Map(orgs.map((o) => [o.id, o.name]));
  const needle = search.trim().toLowerCase();
  const rows = (list.data ?? []).filter(
    (w) =>
      (kind === "" || w.kind === kind) &&
      (!needle || [w.name, w.slug, w.description, ...w.tags].some((t) => t.toLowerCase().includes(needle))),
  );

  const refresh = () =>
    Promise.all([utils.workspace.invalidate(), utils.session.invalidate(), utils.stats.invalidate()]);

  async function toggleEnabled(workspace: Workspace, enabled: boolean) {
    try {
      await update.mutateAsync({ id: workspace.id, patch: { enabled } });
      toast({ title: `${workspace.name} ${enabled ? "enabled" : "disabled"}` });
    } catch (error) {
      toastError(error);
    } finally {
      await refresh();
    }
  }

  return (
    <>
      <PageHeader
        title="Workspaces"
        description="The catalogue people launch from. Roles and organization decide who sees each one."
        actions={
          <>
            <Button
              variant="secondary"
              icon={<RotateCcw aria-hidden className="size-4" />}
              onClick={() => setResetting(true)}
            >
              Reset catalogue
            </Button>
            <Button icon={<Plus aria-hidden className="size-4" />} onClick={() => setEditing("new")}>
              New workspace
            </Button>
          </>
        }
      />

      <div className="mb-4 flex flex-wrap gap-3">
        <SearchInput
          label="Search workspaces"
          className="sm:w-72"
          placeholder="Search name, slug or tag"
          value={search}
          onChange={(event) => setSearch(event.target.value)}
        />
        <InlineSelect
          label="Filter by kind"
          className="w-full sm:w-44"
          value={kind}
          onChange={(event) => setKind(event.target.value as WorkspaceKind | "")}
        >
          <option value="">All kinds</option>
          <option value="desktop">Desktop</option>
          <option value="app">App</option>
          <option value="web">Web</option>
          <option value="terminal">Terminal</option>
        </InlineSelect>
      </div>

      {list.isPending ? (
        <Skeleton className="h-72" />
      ) : list.error ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : list.data.length === 0 ? (
        <EmptyState
          title="The catalogue is empty"
          action={
            <Button
              variant="secondary"
              icon={<RotateCcw aria-hidden className="size-4" />}
              onClick={() => setResetting(true)}
            >
              Restore the defaults
            </Button>
          }
        >
          Create a workspace, or start from the default catalogue.
        </EmptyState>
      ) : rows.length === 0 ? (
        <EmptyState title="No match">No workspace matches these filters.</EmptyState>
      ) : (
        <DataTable columns={COLUMNS}>
          {rows.map((w) => (
            <tr key={w.id} className="align-middle">
              <td className="px-4 py-3">
                <p className="font-medium text-fg">{w.name}</p>
                <p className="font-mono text-xs text-fg-muted">{w.slug}</p>
                {w.tags.length > 0 ? (
                  <p className="mt-1 flex flex-wrap gap-1">
                    {w.tags.map((tag) => (
                      <span key={tag} className="rounded border border-line px-1 text-xs text-fg-muted">
                        {tag}
                      </span>
                    ))}
                  </p>
                ) : null}
              </td>
              <td className="px-4 py-3">
                <span className="inline-flex items-center gap-1.5 text-fg-muted">
                  <KindIcon kind={w.kind} className="size-4" />
                  {kindLabel(w.kind)}
                </span>
              </td>
              <td className="px-4 py-3">
                <div className="flex flex-wrap gap-1">
                  {w.allowedRoles.map((role) => (
                    <RoleBadge key={role} role={role} />
                  ))}
                </div>
              </td>
              <td className="hidden px-4 py-3 text-fg-muted md:table-cell">
                {w.organizationId ? (orgName.get(w.organizationId) ?? "Unknown") : "Global"}
              </td>
              <td className="px-4 py-3">
                <Switch
                  checked={w.enabled}
                  label={`${w.name} enabled`}
                  onCheckedChange={(enabled) => void toggleEnabled(w, enabled)}
                />
              </td>
              <td className="px-4 py-3">
                <div className="flex justify-end gap-1">
                  <Button
                    size="sm"
                    variant="ghost"
                    aria-label={`Edit ${w.name}`}
                    icon={<Pencil aria-hidden className="size-4" />}
                    onClick={() => setEditing(w)}
                  />
                  <Button
                    size="sm"
                    variant="ghost"
                    aria-label={`Delete ${w.name}`}
                    className="text-danger"
                    icon={<Trash2 aria-hidden className="size-4" />}
                    onClick={() => setDeleting(w)}
                  />
                </div>
              </td>
            </tr>
          ))}
        </DataTable>
      )}

      <Modal
        wide
        open={editing !== null}
        onOpenChange={(open) => {
          if (!open) setEditing(null);
        }}
        title={editing === "new" ? "New workspace" : `Edit ${editing?.name ?? ""}`}
        description="Checked with the same rules the API uses."
      >
        {editing !== null ? (
          <WorkspaceForm
            key={editing === "new" ? "new" : editing.id}
            initial={editing === "new" ? null : editing}
            organizations={orgs}
            serverFieldPrefix={editing === "new" ? "" : "patch."}
            onCancel={() => setEditing(null)}
            onSubmit={async (input) => {
              if (editing === "new") {
                const created = await create.mutateAsync(input);
                toast({ title: "Workspace created", description: created.name });
              } else {
                const patch = workspacePatch(editing, input);
                if (Object.keys(patch).length === 0) {
                  setEditing(null);
                  return;
                }
                const saved = await update.mutateAsync({ id: editing.id, patch });
                toast({ title: "Workspace saved", description: saved.name });
              }
              setEditing(null);
              await refresh();
            }}
          />
        ) : null}
      </Modal>

      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(open) => {
          if (!open) setDeleting(null);
        }}
        title={`Delete ${deleting?.name ?? "workspace"}?`}
        description="It disappears from everyone's home page and its running sessions end. This cannot be undone."
        confirmLabel="Delete"
        loading={remove.isPending}
        onConfirm={() => {
          if (!deleting) return;
          remove
            .mutateAsync({ id: deleting.id })
            .then((result) => {
              toast({
                title: `${deleting.name} deleted`,
                ...(result.endedSessions > 0
                  ? { description: `${result.endedSessions} running session(s) ended.` }
                  : {}),
              });
              setDeleting(null);
            })
            .catch(toastError)
            .finally(() => void refresh());
        }}
      />

      <ConfirmDialog
        open={resetting}
        onOpenChange={setResetting}
        title="Reset the catalogue?"
        description="The default workspaces are restored and every other workspace is removed, ending its running sessions."
        confirmLabel="Reset catalogue"
        loading={reset.isPending}
        onConfirm={() => {
          reset
            .mutateAsync()
            .then((result) => {
              toast({
                title: "Catalogue reset",
                description: `${result.workspaces.length} default workspaces; ${result.removed} removed, ${result.endedSessions} session(s) ended.`,
              });
              setResetting(false);
            })
            .catch(toastError)
            .finally(() => void refresh());
        }}
      />
    </>
  );
}
