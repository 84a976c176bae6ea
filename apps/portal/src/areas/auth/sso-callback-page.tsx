import { useEffect, useRef, useState } from "react";
import { Link, useNavigate } from "react-router";
import { useRuntimeConfig } from "../../app/runtime-config.tsx";
import { buttonClass } from "../../components/ui/button.tsx";
import { Spinner } from "../../components/ui/feedback.tsx";
import { FormError } from "../../components/ui/field.tsx";
import { readApiError } from "../../lib/api-error.ts";
import { describeError } from "../../lib/problem.ts";
import { setSignedInHint } from "../../lib/signed-in-hint.ts";
import { trpc } from "../../lib/trpc.ts";
import { AuthLayout } from "./auth-layout.tsx";

/** Where the IdP sends the browser back: hand the code to the backend, then go in. */
export function SsoCallbackPage() {
  const navigate = useNavigate();
  const runtime = useRuntimeConfig();
  const utils = trpc.useUtils();
  const config = trpc.auth.config.useQuery(undefined, { staleTime: Number.POSITIVE_INFINITY });
  const exchange = trpc.auth.tokenExchange.useMutation();
  const [problem, setProblem] = useState<string | null>(null);
  // The callback state is single-use: guard against effects running twice.
  const started = useRef(false);

  const sso = runtime.sso ?? config.data?.sso ?? null;
  const configError = config.error;

  useEffect(() => {
    if (started.current || config.isPending) return;
    if (!sso) {
      if (!configError) setProblem("Single sign-on is not configured on this server.");
      return;
    }
    started.current = true;
    void (async () => {
      try {
        const { readSsoCallback } = await import("../../lib/sso.ts");
        const result = await readSsoCallback(
          { issuer: sso.issuer, clientId: sso.clientId, scopes: sso.scopes ?? [] },
          window.location.href,
        );
        const { next, ...input } = result;
        const login = await exchange.mutateAsync(input);
        setSignedInHint(true);
        utils.auth.me.reset();
        await navigate(login.user.mustChangePassword ? "/change-password" : next, { replace: true });
      } catch (error) {
        setProblem(
          error instanceof Error && !("data" in error)
            ? `Sign-in could not be completed: ${error.message}.`
            : describeError(readApiError(error)).message,
        );
      }
    })();
  }, [config.isPending, configError, sso, exchange, navigate, utils]);

  return (
    <AuthLayout title="Signing you in">
      {problem || configError ? (
        <div className="space-y-4">
          <FormError>{problem ?? describeError(readApiError(configError)).message}</FormError>
          <Link to="/sign-in" className={buttonClass("primary", "md", "w-full")}>
            Back to sign-in
          </Link>
        </div>
      ) : (
        <Spinner label="Completing single sign-on" />
      )}
    </AuthLayout>
  );
}
