import { KeyRound } from "lucide-react";
import { useState } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { useRuntimeConfig } from "../../app/runtime-config.tsx";
import { Button } from "../../components/ui/button.tsx";
import { ErrorState, PageLoading } from "../../components/ui/feedback.tsx";
import { FormError } from "../../components/ui/field.tsx";
import { readApiError } from "../../lib/api-error.ts";
import { safeNextPath } from "../../lib/next-path.ts";
import { describeError } from "../../lib/problem.ts";
import { setSignedInHint } from "../../lib/signed-in-hint.ts";
import { trpc } from "../../lib/trpc.ts";
import { AuthLayout } from "./auth-layout.tsx";
import { SignInForm, type SignInValues } from "./sign-in-form.tsx";

export function SignInPage() {
  const [params] = useSearchParams();
  const next = safeNextPath(params.get("next"));
  const navigate = useNavigate();
  const utils = trpc.useUtils();
  const runtime = useRuntimeConfig();
  const config = trpc.auth.config.useQuery(undefined, { staleTime: Number.POSITIVE_INFINITY });
  const login = trpc.auth.login.useMutation();
  const [ssoPending, setSsoPending] = useState(false);
  const [ssoError, setSsoError] = useState<string | null>(params.get("error"));

  if (config.isPending) return <PageLoading />;
  if (config.error) {
    return (
      <AuthLayout title="Sign in">
        <ErrorState error={config.error} onRetry={() => void config.refetch()} />
      </AuthLayout>
    );
  }
  // Behind Pomerium the person already has an identity: there is nothing to sign in to.
  if (config.data.pomerium) {
    setSignedInHint(true);
    return <Navigate replace to={next} />;
  }

  const sso = runtime.sso ?? config.data.sso;

  async function signIn(values: SignInValues) {
    const result = await login.mutateAsync(values);
    setSignedInHint(true);
    utils.auth.me.reset();
    await navigate(result.user.mustChangePassword ? "/change-password" : next, { replace: true });
  }

  async function startSso() {
    if (!sso) return;
    setSsoPending(true);
    setSsoError(null);
    try {
      const { startSsoSignIn } = await import("../../lib/sso.ts");
      await startSsoSignIn({ issuer: sso.issuer, clientId: sso.clientId, scopes: sso.scopes ?? [] }, next);
    } catch (error) {
      setSsoPending(false);
      setSsoError(
        error instanceof Error && !("data" in error)
          ? `The identity provider could not be reached (${error.message}).`
          : describeError(readApiError(error)).message,
      );
    }
  }

  return (
    <AuthLayout title="Sign in to NeoSC" subtitle="Your workspaces, one click away.">
      <div className="space-y-5">
        {config.data.localLogin ? (
          <SignInForm login={signIn} />
        ) : (
          <p className="text-sm text-fg-muted">Password sign-in is switched off on this server.</p>
        )}
        {sso ? (
          <>
            {config.data.localLogin ? (
              <div className="flex items-center gap-3 text-xs text-fg-muted">
                <span className="h-px flex-1 bg-line" />
                or
                <span className="h-px flex-1 bg-line" />
              </div>
            ) : null}
            <Button
              variant={config.data.localLogin ? "secondary" : "primary"}
              className="w-full"
              loading={ssoPending}
              onClick={() => void startSso()}
              icon={<KeyRound aria-hidden className="size-4" />}
            >
              Sign in with SSO
            </Button>
          </>
        ) : null}
        <FormError>{ssoError}</FormError>
        {!config.data.localLogin && !sso ? (
          <FormError>No sign-in method is configured. Contact your administrator.</FormError>
        ) : null}
        {config.data.selfRegistration && config.data.localLogin ? (
          <p className="text-center text-sm text-fg-muted">
            New here?{" "}
            <Link to="/register" className="font-medium text-primary hover:underline">
              Create an account
            </Link>
          </p>
        ) : null}
      </div>
    </AuthLayout>
  );
}
