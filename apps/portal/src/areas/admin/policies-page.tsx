import type { Policy, PolicyKey } from "@neosc/core/policy";
import { useState } from "react";
import { useMe } from "../../app/me-context.tsx";
import { ConfirmDialog } from "../../components/ui/dialog.tsx";
import { Card, ErrorState, PageHeader, Skeleton } from "../../components/ui/feedback.tsx";
import { Switch } from "../../components/ui/switch.tsx";
import { toast, toastError } from "../../components/ui/toast.ts";
import { formatRelative } from "../../lib/format.ts";
import { trpc } from "../../lib/trpc.ts";
import { needsPreview, type PolicyConfirmation, policyConfirmation } from "./policy-confirm.ts";
import { PolicySettingsEditor } from "./policy-editors.tsx";

const ABOUT: Record<PolicyKey, { title: string; text: string; caution?: string }> = {
  "mfa-required": {
    title: "Require two factors",
    text: "Launching needs a sign-in with two factors (an authenticator code, or MFA at the identity provider).",
  },
  "max-concurrent-sessions": {
    title: "Concurrent sessions",
    text: "Caps how many workspaces one person can run at the same time.",
  },
  "session-max-duration": {
    title: "Maximum session length",
    text: "Sessions end automatically this long after they start.",
  },
  "idle-timeout": {
    title: "Idle timeout",
    text: "Sessions end when the portal has not reported them in use for this long.",
  },
  "ip-allowlist": {
    title: "Network allowlist",
    text: "Sign-in and launching work only from these networks.",
    caution: "Make sure your own network is listed before switching this on, or you will lock yourself out.",
  },
  "access-hours": {
    title: "Access hours",
    text: "Launching works only on these days and hours; running sessions end when the window closes.",
  },
  "self-registration": {
    title: "Self-registration",
    text: "Anyone who can reach the portal may create a local account with the user role.",
  },
  "local-login": {
    title: "Password sign-in",
    text: "Local accounts may sign in with email and password. Switch off to allow single sign-on only.",
    caution: "Without single sign-on configured, switching this off leaves nobody able to sign in.",
  },
  clipboard: {
    title: "Clipboard",
    text: "Limits copy and paste between people's computers and their desktops and terminals. Refused pastes are audited.",
  },
  "file-transfer": {
    title: "File transfer in web apps",
    text: "While on, web apps accept uploads and give downloads only in the directions allowed below; refusals are audited.",
  },
  recording: {
    title: "Session recording",
    text: "Records what desktop sessions show, with the pointer, for replay by administrators. Keystrokes are not recorded (they can hold passwords). Each finished recording's fingerprint goes into the audit log.",
    caution:
      'With "required", workspaces that cannot be recorded (terminals, web apps, or when the recordings folder cannot be written) do not start.',
  },
};

function PolicyCard({ policy }: { policy: Policy }) {
  const me = useMe();
  const utils = trpc.useUtils();
  const toggle = trpc.policy.toggle.useMutation();
  const update = trpc.policy.update.useMutation();
  const about = ABOUT[policy.key];
  /** A risky change waiting for the admin's yes, with what policy.preview said it would do. */
  const [asking, setAsking] = useState<{ confirmation: PolicyConfirmation; run: () => Promise<void> } | null>(
    null,
  );

  /**
   * Runs a change, first asking when it can lock people out or end their sessions. A failed
   * preview does not block the change: the API's own checks still apply.
   */
  async function withConfirmation(
    enabled: boolean,
    settings: Record<string, unknown> | undefined,
    run: () => Promise<void>,
  ) {
    if (!needsPreview(policy.key, enabled)) return run();
    let confirmation: PolicyConfirmation | null = null;
    try {
      const preview = await utils.client.policy.preview.query({
        key: policy.key,
        enabled,
        ...(settings === undefined ? {} : { settings }),
      });
      confirmation = policyConfirmation(policy.key, preview, {
        switching: enabled !== policy.enabled,
        method: me.method,
      });
    } catch (error) {
      toastError(error);
      return;
    }
    if (confirmation === null) return run();
    setAsking({ confirmation, run });
  }

  async function setEnabled(enabled: boolean) {
    try {
      await toggle.mutateAsync({ key: policy.key, enabled });
      toast({ title: `${about.title} ${enabled ? "on" : "off"}` });
    } catch (error) {
      toastError(error);
    } finally {
      await Promise.all([utils.policy.invalidate(), utils.auth.config.invalidate()]);
    }
  }

  return (
    <Card className="p-5">
      <section aria-labelledby={`policy-${policy.key}`} className="space-y-4">
        <div className="flex items-start justify-between gap-4">
          <div className="min-w-0">
            <h2 id={`policy-${policy.key}`} className="font-semibold text-fg">
              {about.title}
            </h2>
            <p className="mt-1 text-sm text-fg-muted">{about.text}</p>
            {about.caution && !policy.enabled ? (
              <p className="mt-1 text-xs text-warning">{about.caution}</p>
            ) : null}
          </div>
          <Switch
            checked={policy.enabled}
            disabled={toggle.isPending}
            label={`${about.title}: ${policy.enabled ? "on" : "off"}`}
            onCheckedChange={(enabled) =>
              void withConfirmation(enabled, undefined, () => setEnabled(enabled))
            }
          />
        </div>
        <PolicySettingsEditor
          key={policy.updatedAt.getTime()}
          policy={policy}
          onSave={(settings) =>
            withConfirmation(policy.enabled, settings, async () => {
              await update.mutateAsync({ key: policy.key, settings });
              toast({ title: `${about.title} saved` });
              await utils.policy.invalidate();
            })
          }
        />
        <p className="text-xs text-fg-muted">
          Changed {formatRelative(policy.updatedAt)}
          {policy.updatedBy === me.user.id ? " by you" : policy.updatedBy ? " by another administrator" : ""}
        </p>
      </section>
      <ConfirmDialog
        open={asking !== null}
        onOpenChange={(open) => {
          if (!open) setAsking(null);
        }}
        title={asking?.confirmation.title ?? ""}
        description={
          <span className="flex flex-col gap-2">
            {asking?.confirmation.lines.map((line) => (
              <span key={line}>{line}</span>
            ))}
          </span>
        }
        danger={asking?.confirmation.danger ?? true}
        confirmLabel={asking?.confirmation.confirmLabel ?? "Continue"}
        loading={toggle.isPending || update.isPending}
        onConfirm={() => {
          const run = asking?.run;
          setAsking(null);
          void run?.().catch(toastError);
        }}
      />
    </Card>
  );
}

export function PoliciesPage() {
  const policies = trpc.policy.list.useQuery();
  return (
    <>
      <PageHeader
        title="Policies"
        description="Enforced by the API on every sign-in and launch, not just displayed."
      />
      {policies.isPending ? (
        <div className="grid gap-4 lg:grid-cols-2">
          {[0, 1, 2, 3].map((i) => (
            <Skeleton key={i} className="h-40" />
          ))}
        </div>
      ) : policies.error ? (
        <ErrorState error={policies.error} onRetry={() => void policies.refetch()} />
      ) : (
        <div className="grid items-start gap-4 lg:grid-cols-2">
          {policies.data.map((policy) => (
            <PolicyCard key={policy.key} policy={policy} />
          ))}
        </div>
      )}
    </>
  );
}
