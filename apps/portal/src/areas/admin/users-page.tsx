import { ROLE_LABEL, ROLES, type Role } from "@neosc/core/roles";
import { CreateUserInputSchema, type User } from "@neosc/core/user";
import { keepPreviousData } from "@tanstack/react-query";
import { Copy, Plus } from "lucide-react";
import { type FormEvent, useState } from "react";
import { useMe } from "../../app/me-context.tsx";
import { Button } from "../../components/ui/button.tsx";
import { type Column, DataTable } from "../../components/ui/data-table.tsx";
import { ConfirmDialog, Modal } from "../../components/ui/dialog.tsx";
import { Badge, EmptyState, ErrorState, PageHeader, Skeleton } from "../../components/ui/feedback.tsx";
import { FormActions, SelectField, TextField } from "../../components/ui/field.tsx";
import { InlineSelect, SearchInput } from "../../components/ui/inline-controls.tsx";
import { LoadMore } from "../../components/ui/load-more.tsx";
import { toast, toastError } from "../../components/ui/toast.ts";
import { formatRelative } from "../../lib/format.ts";
import { describeError } from "../../lib/problem.ts";
import { trpc } from "../../lib/trpc.ts";
import { useDebounced } from "../../lib/use-debounced.ts";
import { useForm } from "../../lib/use-form.ts";
import { parseForm } from "../../lib/validation.ts";
import { ResetMfaDialog } from "./reset-mfa-dialog.tsx";
import {
  anonymizeLines,
  disableLines,
  RESET_PASSWORD_LINES,
  type RunningSessions,
  removeLines,
} from "./user-confirm.ts";

const PAGE_SIZE = 25;

const roleOptions = ROLES.map((role) => (
  <option key={role} value={role}>
    {ROLE_LABEL[role]}
  </option>
));

const COLUMNS: Column[] = [
  { label: "Person" },
  { label: "Role" },
  { label: "Sign-in", className: "hidden md:table-cell" },
  { label: "Last seen", className: "hidden lg:table-cell" },
  { label: "Status" },
  { label: "Actions", srOnly: true, className: "text-right" },
];

function CreateUserForm({
  organizations,
  onCreated,
  onCancel,
}: {
  organizations: ReadonlyArray<{ id: string; name: string }>;
  onCreated: (result: { user: User; oneTimePassword: string }) => void;
  onCancel: () => void;
}) {
  const create = trpc.user.create.useMutation();
  const { values, field, setErrors, formError, setFormError, showRefusal } = useForm({
    email: "",
    name: "",
    role: "user" as Role,
    organizationId: "",
  });

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const parsed = parseForm(CreateUserInputSchema, {
      ...values,
      organizationId: values.organizationId || null,
    });
    if (!parsed.success) {
      setErrors(parsed.fieldErrors);
      return;
    }
    setErrors({});
    try {
      onCreated(await create.mutateAsync(parsed.data));
    } catch (error) {
      showRefusal(error, {
        describe: (e) =>
          e.domain?.reason === "duplicate"
            ? "A user with this email already exists"
            : describeError(e).message,
      });
    }
  }

  return (
    <form noValidate onSubmit={(event) => void submit(event)} className="space-y-4">
      <TextField label="Name" autoFocus {...field("name")} />
      <TextField label="Email" type="email" {...field("email")} />
      <div className="grid gap-4 sm:grid-cols-2">
        <SelectField label="Role" {...field("role")}>
          {roleOptions}
        </SelectField>
        <SelectField label="Organization" {...field("organizationId")}>
          <option value="">None</option>
          {organizations.map((o) => (
            <option key={o.id} value={o.id}>
              {o.name}
            </option>
          ))}
        </SelectField>
      </div>
      <p className="text-xs text-fg-muted">
        NeoSC generates a one-time password. The person must replace it when they first sign in.
      </p>
      <FormActions
        error={formError}
        onCancel={onCancel}
        pending={create.isPending}
        submitLabel="Create user"
      />
    </form>
  );
}

/** The confirmation's facts, one paragraph each. */
function Lines({ lines }: { lines: readonly string[] }) {
  return (
    <span className="block space-y-2">
      {lines.map((line) => (
        <span key={line} className="block">
          {line}
        </span>
      ))}
    </span>
  );
}

/** The person's running sessions while a confirmation about them is open (admins see everyone's). */
function useRunningSessions(user: User | null): RunningSessions {
  const active = trpc.session.active.useQuery(
    { userId: user?.id ?? "" },
    { enabled: user !== null, staleTime: 0, gcTime: 0 },
  );
  if (user === null || active.data === undefined) return { count: null, workspaces: [] };
  return { count: active.data.length, workspaces: active.data.map((session) => session.workspaceName) };
}

function OneTimePassword({
  result,
  onDone,
}: {
  result: { user: User; oneTimePassword: string };
  onDone: () => void;
}) {
  return (
    <div className="space-y-4">
      <p className="text-sm text-fg">
        Give this one-time password to <span className="font-medium">{result.user.email}</span> through a safe
        channel. It is shown only now.
      </p>
      <div className="flex items-center gap-2">
        <code className="flex-1 rounded-lg border border-line bg-surface-muted px-3 py-2 font-mono text-base break-all text-fg">
          {result.oneTimePassword}
        </code>
        <Button
          variant="secondary"
          aria-label="Copy the one-time password"
          icon={<Copy aria-hidden className="size-4" />}
          onClick={() =>
            void navigator.clipboard
              ?.writeText(result.oneTimePassword)
              .then(() => toast({ tone: "info", title: "Password copied" }))
          }
        />
      </div>
      <div className="flex justify-end">
        <Button onClick={onDone}>Done</Button>
      </div>
    </div>
  );
}

export function UsersPage() {
  const me = useMe();
  const utils = trpc.useUtils();
  const [search, setSearch] = useState("");
  const [role, setRole] = useState<Role | "">("");
  const [status, setStatus] = useState<"" | "active" | "disabled">("");
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ user: User; oneTimePassword: string } | null>(null);
  const [disabling, setDisabling] = useState<User | null>(null);
  const [resetting, setResetting] = useState<User | null>(null);
  const [removing, setRemoving] = useState<User | null>(null);
  const [anonymizing, setAnonymizing] = useState<User | null>(null);
  /** A one-time password just made for someone (new account or reset), shown once. */
  const [issued, setIssued] = useState<{ user: User; oneTimePassword: string } | null>(null);
  /** Making someone an admin widens what they can do to everything: asked first. */
  const [promoting, setPromoting] = useState<User | null>(null);
  const organizations = trpc.organization.list.useQuery();
  const setRoleMutation = trpc.user.setRole.useMutation();
  const disable = trpc.user.disable.useMutation();
  const enable = trpc.user.enable.useMutation();
  const resetPassword = trpc.user.resetPassword.useMutation();
  const remove = trpc.user.remove.useMutation();
  const anonymize = trpc.user.anonymize.useMutation();
  const running = useRunningSessions(disabling ?? removing ?? anonymizing);
  const resetMfa = trpc.user.resetMfa.useMutation();
  const [resettingMfa, setResettingMfa] = useState<User | null>(null);

  const debouncedSearch = useDebounced(search.trim());
  const input = {
    limit: PAGE_SIZE,
    ...(debouncedSearch ? { search: debouncedSearch } : {}),
    ...(role ? { role } : {}),
    ...(status ? { disabled: status === "disabled" } : {}),
  };
  const users = trpc.user.list.useInfiniteQuery(input, {
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    placeholderData: keepPreviousData,
  });
  const rows = users.data?.pages.flatMap((page) => page.items) ?? [];
  const orgName = new Map((organizations.data ?? []).map((o) => [o.id, o.name]));

  async function changeRole(user: User, next: Role) {
    if (next === "admin" && user.role !== "admin" && promoting?.id !== user.id) {
      setPromoting(user);
      return;
    }
    try {
      await setRoleMutation.mutateAsync({ userId: user.id, role: next });
      toast({ title: "Role changed", description: `${user.email} is now ${ROLE_LABEL[next]}.` });
      setPromoting(null);
    } catch (error) {
      toastError(error);
    } finally {
      await utils.user.list.invalidate();
    }
  }

  async function enableUser(user: User) {
    try {
      await enable.mutateAsync({ userId: user.id });
      toast({ title: "Account enabled", description: user.email });
    } catch (error) {
      toastError(error);
    } finally {
      await utils.user.list.invalidate();
    }
  }

  async function resetSecondFactor(user: User) {
    try {
      await resetMfa.mutateAsync({ userId: user.id });
      toast({ title: "Second factor reset", description: `${user.email} was signed out everywhere.` });
      setResettingMfa(null);
    } catch (error) {
      toastError(error);
    } finally {
      await utils.user.list.invalidate();
    }
  }

  return (
    <>
      <PageHeader
        title="Users"
        description="Local accounts and people who arrived through single sign-on."
        actions={
          <Button icon={<Plus aria-hidden className="size-4" />} onClick={() => setCreating(true)}>
            New user
          </Button>
        }
      />
      <div className="mb-4 flex flex-wrap gap-3">
        <SearchInput
          label="Search users"
          className="sm:w-72"
          placeholder="Search name or email"
          value={search}
          onChange={(event) => setSearch(event.target.value)}
        />
        <InlineSelect
          label="Filter by role"
          className="w-full sm:w-40"
          value={role}
          onChange={(event) => setRole(event.target.value as Role | "")}
        >
          <option value="">All roles</option>
          {roleOptions}
        </InlineSelect>
        <InlineSelect
          label="Filter by status"
          className="w-full sm:w-40"
          value={status}
          onChange={(event) => setStatus(event.target.value as "" | "active" | "disabled")}
        >
          <option value="">Any status</option>
          <option value="active">Active</option>
          <option value="disabled">Disabled</option>
        </InlineSelect>
      </div>

      {users.isPending ? (
        <Skeleton className="h-72" />
      ) : users.error ? (
        <ErrorState error={users.error} onRetry={() => void users.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title="No users match">Try another search or filter.</EmptyState>
      ) : (
        <div className="space-y-4">
          <DataTable columns={COLUMNS}>
            {rows.map((user) => {
              const self = user.id === me.user.id;
              return (
                <tr key={user.id} className="align-middle">
                  <td className="px-4 py-3">
                    <p className="font-medium text-fg">
                      {user.name}
                      {self ? <span className="ml-1 text-xs font-normal text-fg-muted">(you)</span> : null}
                    </p>
                    <p className="text-xs text-fg-muted">{user.email}</p>
                    {user.organizationId ? (
                      <p className="text-xs text-fg-muted">{orgName.get(user.organizationId) ?? ""}</p>
                    ) : null}
                  </td>
                  <td className="px-4 py-3">
                    <InlineSelect
                      label={`Role of ${user.email}`}
                      selectClassName="w-28 py-1"
                      value={user.role}
                      disabled={setRoleMutation.isPending}
                      onChange={(event) => void changeRole(user, event.target.value as Role)}
                    >
                      {roleOptions}
                    </InlineSelect>
                  </td>
                  <td className="hidden px-4 py-3 md:table-cell">
                    <div className="flex flex-wrap gap-1">
                      <Badge>{user.source}</Badge>
                      {user.totpEnabled ? <Badge tone="success">2FA</Badge> : null}
                      {user.mustChangePassword ? <Badge tone="warning">must change password</Badge> : null}
                    </div>
                  </td>
                  <td className="hidden px-4 py-3 text-xs text-fg-muted lg:table-cell">
                    {user.lastLoginAt ? formatRelative(user.lastLoginAt) : "never"}
                  </td>
                  <td className="px-4 py-3">
                    {user.disabled ? (
                      <Badge tone="danger">Disabled</Badge>
                    ) : (
                      <Badge tone="success">Active</Badge>
                    )}
                  </td>
                  <td className="px-4 py-3 text-right">
                    <div className="flex flex-wrap justify-end gap-1">
                      {user.totpEnabled ? (
                        <Button
                          size="sm"
                          variant="ghost"
                          aria-label={`Reset second factor of ${user.email}`}
                          onClick={() => setResettingMfa(user)}
                        >
                          Reset 2FA
                        </Button>
                      ) : null}
                      {user.source === "local" && !self ? (
                        <Button
                          size="sm"
                          variant="ghost"
                          aria-label={`Reset password of ${user.email}`}
                          onClick={() => setResetting(user)}
                        >
                          Reset password
                        </Button>
                      ) : null}
                      {user.disabled ? (
                        <Button size="sm" variant="secondary" onClick={() => void enableUser(user)}>
                          Enable
                        </Button>
                      ) : (
                        <Button
                          size="sm"
                          variant="ghost"
                          className="text-danger"
                          disabled={self}
                          aria-label={`Disable ${user.email}`}
                          onClick={() => setDisabling(user)}
                        >
                          Disable
                        </Button>
                      )}
                      {self || user.source === "service" ? null : (
                        <Button
                          size="sm"
                          variant="ghost"
                          className="text-danger"
                          aria-label={`Anonymize ${user.email}`}
                          onClick={() => setAnonymizing(user)}
                        >
                          Anonymize
                        </Button>
                      )}
                      {self ? null : (
                        <Button
                          size="sm"
                          variant="ghost"
                          className="text-danger"
                          aria-label={`Remove ${user.email}`}
                          onClick={() => setRemoving(user)}
                        >
                          Remove
                        </Button>
                      )}
                    </div>
                  </td>
                </tr>
              );
            })}
          </DataTable>
          <LoadMore query={users} />
        </div>
      )}

      <ResetMfaDialog
        user={resettingMfa}
        pending={resetMfa.isPending}
        onCancel={() => setResettingMfa(null)}
        onConfirm={(user) => void resetSecondFactor(user)}
      />

      <Modal
        open={creating || created !== null}
        onOpenChange={(open) => {
          if (!open) {
            setCreating(false);
            setCreated(null);
          }
        }}
        title={created ? "User created" : "New user"}
        description={created ? undefined : "A local account with a one-time password."}
      >
        {created ? (
          <OneTimePassword
            result={created}
            onDone={() => {
              setCreated(null);
              setCreating(false);
            }}
          />
        ) : (
          <CreateUserForm
            organizations={organizations.data ?? []}
            onCancel={() => setCreating(false)}
            onCreated={(result) => {
              setCreated(result);
              setCreating(false);
              void utils.user.list.invalidate();
              void utils.organization.list.invalidate();
            }}
          />
        )}
      </Modal>

      <ConfirmDialog
        open={promoting !== null}
        onOpenChange={(open) => {
          if (!open) setPromoting(null);
        }}
        title={`Make ${promoting?.email ?? "this person"} an admin?`}
        description="Admins can change the catalogue and every policy, manage people (including other admins), end anyone's session and read the whole audit log."
        confirmLabel="Make admin"
        loading={setRoleMutation.isPending}
        onConfirm={() => {
          if (promoting) void changeRole(promoting, "admin");
        }}
      />

      <ConfirmDialog
        open={disabling !== null}
        onOpenChange={(open) => {
          if (!open) setDisabling(null);
        }}
        title={`Disable ${disabling?.email ?? "this account"}?`}
        description={<Lines lines={disableLines(running)} />}
        confirmLabel={
          running.count !== null && running.count > 0
            ? `Disable and end ${running.count === 1 ? "1 session" : `${running.count} sessions`}`
            : "Disable account"
        }
        loading={disable.isPending}
        onConfirm={() => {
          if (!disabling) return;
          disable
            .mutateAsync({ userId: disabling.id })
            .then(() => {
              toast({ title: "Account disabled", description: disabling.email });
              setDisabling(null);
            })
            .catch(toastError)
            .finally(() => void utils.user.list.invalidate());
        }}
      />

      <ConfirmDialog
        open={resetting !== null}
        onOpenChange={(open) => {
          if (!open) setResetting(null);
        }}
        title={`Reset the password of ${resetting?.email ?? "this person"}?`}
        description={<Lines lines={RESET_PASSWORD_LINES} />}
        confirmLabel="Reset password"
        loading={resetPassword.isPending}
        onConfirm={() => {
          if (!resetting) return;
          resetPassword
            .mutateAsync({ userId: resetting.id })
            .then((result) => {
              setResetting(null);
              setIssued(result);
            })
            .catch(toastError)
            .finally(() => void utils.user.list.invalidate());
        }}
      />

      <Modal
        open={issued !== null}
        onOpenChange={(open) => {
          if (!open) setIssued(null);
        }}
        title="New one-time password"
      >
        {issued ? <OneTimePassword result={issued} onDone={() => setIssued(null)} /> : null}
      </Modal>

      <ConfirmDialog
        open={removing !== null}
        onOpenChange={(open) => {
          if (!open) setRemoving(null);
        }}
        title={`Remove ${removing?.email ?? "this person"}?`}
        description={removing ? <Lines lines={removeLines(removing, running)} /> : ""}
        confirmLabel="Remove person"
        loading={remove.isPending}
        onConfirm={() => {
          if (!removing) return;
          remove
            .mutateAsync({ userId: removing.id })
            .then((result) => {
              toast({
                title: "Person removed",
                description: `${result.email}: ${result.endedSessions === 1 ? "1 session" : `${result.endedSessions} sessions`} ended.`,
              });
              setRemoving(null);
            })
            .catch(toastError)
            .finally(() => {
              void utils.user.list.invalidate();
              void utils.organization.list.invalidate();
            });
        }}
      />

      <ConfirmDialog
        open={anonymizing !== null}
        onOpenChange={(open) => {
          if (!open) setAnonymizing(null);
        }}
        title={`Anonymize ${anonymizing?.email ?? "this person"}?`}
        description={anonymizing ? <Lines lines={anonymizeLines(anonymizing, running)} /> : ""}
        confirmLabel="Anonymize person"
        loading={anonymize.isPending}
        onConfirm={() => {
          if (!anonymizing) return;
          const email = anonymizing.email;
          anonymize
            .mutateAsync({ userId: anonymizing.id })
            .then((result) => {
              toast({
                title: "Person anonymized",
                description: `${email}: signed out, ${result.endedSessions === 1 ? "1 session" : `${result.endedSessions} sessions`} ended.`,
              });
              setAnonymizing(null);
            })
            .catch(toastError)
            .finally(() => void utils.user.list.invalidate());
        }}
      />
    </>
  );
}
