import { ArrowLeft } from "lucide-react";
import { type FormEvent, useEffect, useRef, useState } from "react";
import { Button } from "../../components/ui/button.tsx";
import { FormError, TextField } from "../../components/ui/field.tsx";
import { readApiError } from "../../lib/api-error.ts";
import { describeError } from "../../lib/problem.ts";
import type { FieldErrors } from "../../lib/validation.ts";

/**
 * The checks of `LoginInputSchema`, by hand: zod would double what the sign-in page downloads,
 * and the API validates with the schema itself anyway.
 */
export function validateSignIn(email: string, password: string): FieldErrors {
  const errors: FieldErrors = {};
  const trimmed = email.trim();
  if (trimmed === "") errors.email = ["Enter your email address"];
  else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(trimmed) || trimmed.length > 254) {
    errors.email = ["Enter a valid email address"];
  }
  if (password === "") errors.password = ["Enter your password"];
  else if (password.length > 256) errors.password = ["At most 256 characters"];
  return errors;
}

export const TOTP_PATTERN = /^\d{6}$/;

export interface SignInValues {
  email: string;
  password: string;
  totp?: string;
}

/**
 * Email + password, then — when the API answers `totp_required` — a second step asking for the
 * authenticator code. `login` throws the API's error on refusal.
 */
export function SignInForm({ login }: { login: (values: SignInValues) => Promise<void> }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [totp, setTotp] = useState("");
  const [step, setStep] = useState<"password" | "totp">("password");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const totpRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (step === "totp") totpRef.current?.focus();
  }, [step]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const invalid = validateSignIn(email, password);
    if (Object.keys(invalid).length > 0) {
      setErrors(invalid);
      setStep("password");
      return;
    }
    const credentials = { email: email.trim().toLowerCase(), password };
    if (step === "totp" && !TOTP_PATTERN.test(totp)) {
      setErrors({ totp: ["Enter the six digits from your authenticator app"] });
      return;
    }
    setErrors({});
    setPending(true);
    try {
      await login(step === "totp" ? { ...credentials, totp } : credentials);
    } catch (error) {
      const apiError = readApiError(error);
      const reason = apiError.domain?.reason;
      if (reason === "totp_required") {
        setStep("totp");
      } else if (reason === "invalid_totp") {
        setStep("totp");
        setTotp("");
        setErrors({ totp: ["That code is not right or has expired — try the current one"] });
        totpRef.current?.focus();
      } else if (Object.keys(apiError.fieldErrors).length > 0) {
        setErrors(apiError.fieldErrors);
      } else {
        setFormError(describeError(apiError).message);
      }
    } finally {
      setPending(false);
    }
  }

  return (
    <form noValidate onSubmit={(event) => void submit(event)} className="space-y-4">
      {step === "password" ? (
        <>
          <TextField
            label="Email"
            type="email"
            name="email"
            autoComplete="username"
            inputMode="email"
            autoFocus
            value={email}
            onChange={(event) => setEmail(event.target.value)}
            errors={errors.email}
          />
          <TextField
            label="Password"
            type="password"
            name="password"
            autoComplete="current-password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            errors={errors.password}
          />
        </>
      ) : (
        <>
          <p className="text-sm text-fg-muted">
            Two-factor authentication is on for <span className="font-medium text-fg">{email}</span>. Enter
            the six-digit code from your authenticator app.
          </p>
          <TextField
            ref={totpRef}
            label="Authentication code"
            name="totp"
            autoComplete="one-time-code"
            inputMode="numeric"
            pattern="[0-9]*"
            maxLength={6}
            placeholder="123456"
            value={totp}
            onChange={(event) => setTotp(event.target.value.replace(/\D/g, ""))}
            errors={errors.totp}
            className="text-center font-mono text-lg tracking-[0.4em]"
          />
        </>
      )}
      <FormError>{formError}</FormError>
      <Button type="submit" className="w-full" loading={pending}>
        {step === "totp" ? "Verify and sign in" : "Sign in"}
      </Button>
      {step === "totp" ? (
        <Button
          variant="ghost"
          className="w-full"
          icon={<ArrowLeft aria-hidden className="size-4" />}
          onClick={() => {
            setStep("password");
            setTotp("");
            setErrors({});
            setFormError(null);
          }}
        >
          Use a different account
        </Button>
      ) : null}
    </form>
  );
}
