import { useState } from "react";
import { Navigate, useNavigate } from "react-router";
import { ErrorState, PageLoading } from "../../components/ui/feedback.tsx";
import { toast } from "../../components/ui/toast.ts";
import { readApiError } from "../../lib/api-error.ts";
import { trpc } from "../../lib/trpc.ts";
import { AuthLayout } from "./auth-layout.tsx";
import { ChangePasswordForm } from "./change-password-form.tsx";

/** First sign-in with a one-time password: the person must choose their own before going on. */
export function ChangePasswordPage() {
  const navigate = useNavigate();
  const utils = trpc.useUtils();
  const me = trpc.auth.me.useQuery(undefined, { retry: false });
  const changePassword = trpc.auth.changePassword.useMutation();
  const [changed, setChanged] = useState(false);

  if (me.isPending || changed) return <PageLoading />;
  if (me.error) {
    if (readApiError(me.error).code === "UNAUTHORIZED") return <Navigate replace to="/sign-in" />;
    return (
      <AuthLayout title="Choose a new password">
        <ErrorState error={me.error} onRetry={() => void me.refetch()} />
      </AuthLayout>
    );
  }
  if (!me.data.user.mustChangePassword) return <Navigate replace to="/account" />;

  return (
    <AuthLayout
      title="Choose a new password"
      subtitle={`Welcome, ${me.data.user.name}. Your account was set up with a one-time password; replace it with one only you know.`}
    >
      <ChangePasswordForm
        currentLabel="One-time password"
        submitLabel="Save and continue"
        change={async (values) => {
          await changePassword.mutateAsync(values);
          setChanged(true);
          // The shell must not see the stale "must change" flag and send the person back here.
          utils.auth.me.setData(undefined, (current) =>
            current ? { ...current, user: { ...current.user, mustChangePassword: false } } : current,
          );
          toast({ title: "Password changed", description: "Welcome to NeoSC." });
          await navigate("/", { replace: true });
          void utils.auth.me.invalidate();
        }}
      />
    </AuthLayout>
  );
}
