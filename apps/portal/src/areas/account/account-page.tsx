import { type ReactNode, useEffect } from "react";
import { useLocation } from "react-router";
import { useMe } from "../../app/me-context.tsx";
import { RoleBadge } from "../../components/role-badge.tsx";
import { Button } from "../../components/ui/button.tsx";
import { Badge, Card, PageHeader } from "../../components/ui/feedback.tsx";
import { toast } from "../../components/ui/toast.ts";
import { ApiTokensCard } from "../../features/tokens/api-tokens-card.tsx";
import { formatDateTime } from "../../lib/format.ts";
import { trpc } from "../../lib/trpc.ts";
import { ChangePasswordForm } from "../auth/change-password-form.tsx";
import { SignOutButton, useSignOut } from "../shell/app-shell.tsx";
import { MfaSection } from "./mfa-section.tsx";

const METHOD_LABEL = {
  local: "Email and password",
  sso: "Single sign-on",
  pomerium: "Access proxy (Pomerium)",
  token: "API token",
};

/**
 * Whether this sign-in proved more than a password, in words: a code from an authenticator app
 * (local accounts), or what the identity provider reported (its `amr` has `mfa`).
 */
export function secondFactorText(mfa: boolean, method: keyof typeof METHOD_LABEL): string {
  if (method === "local") {
    return mfa ? "Yes: password and a code from your authenticator app" : "No: password only";
  }
  if (method === "token") return "Not applicable: signed in with an API token";
  return mfa
    ? "Yes: your identity provider checked a second factor"
    : "No: your identity provider did not report a second factor";
}

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid gap-1 py-2.5 sm:grid-cols-[12rem_1fr]">
      <dt className="text-sm text-fg-muted">{label}</dt>
      <dd className="min-w-0 text-sm break-words text-fg">{children}</dd>
    </div>
  );
}

export function AccountPage() {
  const me = useMe();
  const location = useLocation();
  const { signOut, pending } = useSignOut();
  const changePassword = trpc.auth.changePassword.useMutation();
  const { user } = me;
  const local = user.source === "local";

  useEffect(() => {
    if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView({ block: "start" });
  }, [location.hash]);

  return (
    <>
      <PageHeader title="Account" description="Your profile, how you signed in and your security settings." />
      <div className="grid gap-6 xl:grid-cols-2">
        <div className="space-y-6">
          <Card className="p-5">
            <h2 className="mb-2 text-lg font-semibold text-fg">Profile</h2>
            <dl className="divide-y divide-line">
              <Row label="Name">{user.name}</Row>
              <Row label="Email">{user.email}</Row>
              <Row label="Role">
                <RoleBadge role={user.role} />
              </Row>
              <Row label="Organization">
                {me.organization?.name ?? <span className="text-fg-muted">None</span>}
              </Row>
              <Row label="Account created">{formatDateTime(user.createdAt)}</Row>
            </dl>
          </Card>
          <Card className="p-5">
            <h2 className="mb-2 text-lg font-semibold text-fg">This sign-in</h2>
            <dl className="divide-y divide-line">
              <Row label="Method">{METHOD_LABEL[me.method]}</Row>
              <Row label="Second factor">
                <Badge tone={me.mfa ? "success" : "neutral"}>{secondFactorText(me.mfa, me.method)}</Badge>
              </Row>
              {me.sessionExpiresAt ? <Row label="Expires">{formatDateTime(me.sessionExpiresAt)}</Row> : null}
              {user.lastLoginAt ? <Row label="Last sign-in">{formatDateTime(user.lastLoginAt)}</Row> : null}
            </dl>
            <div className="mt-4 flex flex-wrap gap-2">
              <SignOutButton signOut={signOut} pending={pending} variant="secondary" />
              <Button variant="secondary" disabled={pending} onClick={() => void signOut(true)}>
                Sign out everywhere
              </Button>
            </div>
          </Card>
        </div>
        <div className="space-y-6">
          <MfaSection totpEnabled={user.totpEnabled} local={local} recoveryCodesLeft={me.recoveryCodesLeft} />
          <ApiTokensCard />
          {local ? (
            <Card className="p-5">
              <h2 className="mb-4 text-lg font-semibold text-fg">Change password</h2>
              <ChangePasswordForm
                change={async (values) => {
                  await changePassword.mutateAsync(values);
                  toast({ title: "Password changed" });
                }}
              />
            </Card>
          ) : null}
        </div>
      </div>
    </>
  );
}
