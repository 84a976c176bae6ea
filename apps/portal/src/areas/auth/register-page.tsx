import { RegisterInputSchema } from "@neosc/core/auth";
import type { FormEvent } from "react";
import { Link, Navigate, useNavigate } from "react-router";
import { Button } from "../../components/ui/button.tsx";
import { ErrorState, PageLoading } from "../../components/ui/feedback.tsx";
import { FormError, TextField } from "../../components/ui/field.tsx";
import { toast } from "../../components/ui/toast.ts";
import { readApiError } from "../../lib/api-error.ts";
import { describeError } from "../../lib/problem.ts";
import { setSignedInHint } from "../../lib/signed-in-hint.ts";
import { trpc } from "../../lib/trpc.ts";
import { useForm } from "../../lib/use-form.ts";
import { parseNewPassword } from "../../lib/validation.ts";
import { AuthLayout } from "./auth-layout.tsx";

export function RegisterPage() {
  const navigate = useNavigate();
  const config = trpc.auth.config.useQuery(undefined, { staleTime: Number.POSITIVE_INFINITY });
  const register = trpc.auth.register.useMutation();
  const utils = trpc.useUtils();
  const { values, field, setErrors, formError, setFormError } = useForm({
    email: "",
    name: "",
    password: "",
    confirm: "",
  });

  if (config.isPending) return <PageLoading />;
  if (config.error) {
    return (
      <AuthLayout title="Create an account">
        <ErrorState error={config.error} onRetry={() => void config.refetch()} />
      </AuthLayout>
    );
  }
  if (config.data.pomerium) return <Navigate replace to="/" />;
  if (!config.data.selfRegistration || !config.data.localLogin) {
    return (
      <AuthLayout title="Registration is closed">
        <p className="text-sm text-fg-muted">New accounts are created by an administrator on this server.</p>
        <Link to="/sign-in" className="mt-4 inline-block text-sm font-medium text-primary hover:underline">
          Back to sign-in
        </Link>
      </AuthLayout>
    );
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const { data, fieldErrors } = parseNewPassword(RegisterInputSchema, values, "password");
    if (data === null) {
      setErrors(fieldErrors);
      return;
    }
    setErrors({});
    try {
      await register.mutateAsync(data);
      setSignedInHint(true);
      utils.auth.me.reset();
      toast({ title: "Welcome to NeoSC", description: "Your account is ready." });
      await navigate("/", { replace: true });
    } catch (error) {
      const apiError = readApiError(error);
      if (Object.keys(apiError.fieldErrors).length > 0) setErrors(apiError.fieldErrors);
      else if (apiError.domain?.reason === "duplicate")
        setErrors({ email: ["An account with this email already exists"] });
      else setFormError(describeError(apiError).message);
    }
  }

  return (
    <AuthLayout title="Create an account" subtitle="Registration is open on this server.">
      <form noValidate onSubmit={(event) => void submit(event)} className="space-y-4">
        <TextField label="Name" name="name" autoComplete="name" autoFocus {...field("name")} />
        <TextField label="Email" type="email" name="email" autoComplete="email" {...field("email")} />
        <TextField
          label="Password"
          type="password"
          name="password"
          autoComplete="new-password"
          hint="At least 10 characters."
          {...field("password")}
        />
        <TextField
          label="Repeat password"
          type="password"
          name="confirm"
          autoComplete="new-password"
          {...field("confirm")}
        />
        <FormError>{formError}</FormError>
        <Button type="submit" className="w-full" loading={register.isPending}>
          Create account
        </Button>
        <p className="text-center text-sm text-fg-muted">
          Have an account?{" "}
          <Link to="/sign-in" className="font-medium text-primary hover:underline">
            Sign in
          </Link>
        </p>
      </form>
    </AuthLayout>
  );
}
