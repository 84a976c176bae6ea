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

  if (me.isPending) return <PageLoading />;
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
          await utils.auth.me.invalidate();
          toast({ title: "Password changed", description: "Welcome to NeoSC." });
          await navigate("/", { replace: true });
        }}
      />
    </AuthLayout>
  );
}
