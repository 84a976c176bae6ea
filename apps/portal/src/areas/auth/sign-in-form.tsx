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
  /** In place of `totp`: one of the recovery codes handed out at enrolment. */
  recoveryCode?: string;
}

const RECOVERY_PATTERN = /^[a-z0-9]{10}$/;

/**
 * Email + password, then — when the API answers `totp_required` — a second step asking for the
 * authenticator code. `login` throws the API's error on refusal.
 */
export function SignInForm({ login }: { login: (values: SignInValues) => Promise<void> }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [totp, setTotp] = useState("");
  const [step, setStep] = useState<"password" | "totp">("password");
  const [useRecovery, setUseRecovery] = useState(false);
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
    const recoveryCode = totp.replace(/[\s-]/g, "").toLowerCase();
    if (step === "totp" && !useRecovery && !TOTP_PATTERN.test(totp)) {
      setErrors({ totp: ["Enter the six digits from your authenticator app"] });
      return;
    }
    if (step === "totp" && useRecovery && !RECOVERY_PATTERN.test(recoveryCode)) {
      setErrors({ totp: ["Enter one of your recovery codes (ten letters and digits)"] });
      return;
    }
    setErrors({});
    setPending(true);
    try {
      await login(
        step === "password"
          ? credentials
          : useRecovery
            ? { ...credentials, recoveryCode }
            : { ...credentials, totp },
      );
    } catch (error) {
      const apiError = readApiError(error);
      const reason = apiError.domain?.reason;
      if (reason === "totp_required") {
        setStep("totp");
      } else if (reason === "invalid_totp") {
        setStep("totp");
        setTotp("");
        setErrors({
          totp: [
            useRecovery
              ? "That recovery code is not right or was used already"
              : "That code is not right or has expired — try the current one",
          ],
        });
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
            Two-factor authentication is on for <span className="font-medium text-fg">{email}</span>.{" "}
            {useRecovery
              ? "Enter one of your recovery codes; it works once."
              : "Enter the six-digit code from your authenticator app."}
          </p>
          {useRecovery ? (
            <TextField
              key="recovery"
              ref={totpRef}
              label="Recovery code"
              name="recoveryCode"
              autoComplete="off"
              maxLength={16}
              placeholder="xxxxx-xxxxx"
              value={totp}
              onChange={(event) => setTotp(event.target.value)}
              errors={errors.totp}
              className="text-center font-mono text-lg tracking-widest"
            />
          ) : (
            <TextField
              key="totp"
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
          )}
          <Button
            variant="ghost"
            size="sm"
            onClick={() => {
              setUseRecovery(!useRecovery);
              setTotp("");
              setErrors({});
              totpRef.current?.focus();
            }}
          >
            {useRecovery ? "Use the authenticator app" : "Use a recovery code"}
          </Button>
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
            setUseRecovery(false);
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
