import { TotpCodeSchema } from "@neosc/core/auth";
import { Copy, KeyRound, ShieldCheck } from "lucide-react";
import { type FormEvent, useEffect, useState } from "react";
import { Button } from "../../components/ui/button.tsx";
import { Badge, Card } from "../../components/ui/feedback.tsx";
import { FormError, TextField } from "../../components/ui/field.tsx";
import { toast } from "../../components/ui/toast.ts";
import { readApiError } from "../../lib/api-error.ts";
import { describeError } from "../../lib/problem.ts";
import { trpc } from "../../lib/trpc.ts";

function useQrDataUrl(text: string | null): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (text === null) {
      setUrl(null);
      return;
    }
    let cancelled = false;
    void import("qrcode").then(({ toDataURL }) =>
      toDataURL(text, { margin: 1, width: 200, errorCorrectionLevel: "M" }).then((dataUrl) => {
        if (!cancelled) setUrl(dataUrl);
      }),
    );
    return () => {
      cancelled = true;
    };
  }, [text]);
  return url;
}

function CodeForm({
  label,
  submitLabel,
  variant,
  onSubmit,
}: {
  label: string;
  submitLabel: string;
  variant: "primary" | "danger";
  onSubmit: (code: string) => Promise<void>;
}) {
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    if (!TotpCodeSchema.safeParse(code).success) {
      setError("Enter the six digits from your authenticator app");
      return;
    }
    setError(null);
    setPending(true);
    try {
      await onSubmit(code);
      setCode("");
    } catch (failure) {
      const apiError = readApiError(failure);
      if (apiError.domain?.reason === "invalid_totp") setError("That code is not right or has expired");
      else setFormError(describeError(apiError).message);
    } finally {
      setPending(false);
    }
  }

  return (
    <form noValidate onSubmit={(event) => void submit(event)} className="flex flex-wrap items-start gap-3">
      <TextField
        wrapperClassName="w-40"
        label={label}
        inputMode="numeric"
        autoComplete="one-time-code"
        maxLength={6}
        placeholder="123456"
        value={code}
        onChange={(event) => setCode(event.target.value.replace(/\D/g, ""))}
        errors={error ? [error] : undefined}
        className="font-mono tracking-widest"
      />
      <Button type="submit" variant={variant} loading={pending} className="mt-7">
        {submitLabel}
      </Button>
      {formError ? (
        <div className="w-full">
          <FormError>{formError}</FormError>
        </div>
      ) : null}
    </form>
  );
}

/** The password again before a change to the second factor; a wrong one stays on the field. */
export function PasswordConfirmForm({
  submitLabel,
  onSubmit,
  onCancel,
}: {
  submitLabel: string;
  onSubmit: (password: string) => Promise<void>;
  onCancel: () => void;
}) {
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    if (password === "") {
      setError("Enter your password");
      return;
    }
    setError(null);
    setPending(true);
    try {
      await onSubmit(password);
    } catch (failure) {
      const apiError = readApiError(failure);
      if (apiError.domain?.reason === "invalid_credentials") setError("That password is not right");
      else setFormError(describeError(apiError).message);
      setPassword("");
    } finally {
      setPending(false);
    }
  }

  return (
    <form noValidate onSubmit={(event) => void submit(event)} className="flex flex-wrap items-start gap-3">
      <TextField
        wrapperClassName="w-64"
        label="Your password"
        type="password"
        autoComplete="current-password"
        autoFocus
        value={password}
        onChange={(event) => setPassword(event.target.value)}
        errors={error ? [error] : undefined}
      />
      <div className="mt-7 flex gap-2">
        <Button type="submit" loading={pending}>
          {submitLabel}
        </Button>
        <Button variant="ghost" onClick={onCancel}>
          Cancel
        </Button>
      </div>
      {formError ? (
        <div className="w-full">
          <FormError>{formError}</FormError>
        </div>
      ) : null}
    </form>
  );
}

/** The recovery codes in clear, this once: the server keeps only their hashes. */
export function RecoveryCodesPanel({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <section aria-labelledby="recovery-title" className="space-y-3 rounded-lg border border-line p-4">
      <h3 id="recovery-title" className="flex items-center gap-2 font-semibold text-fg">
        <KeyRound aria-hidden className="size-4 text-primary" />
        Your recovery codes
      </h3>
      <p className="text-sm text-fg-muted">
        Save them somewhere safe now — they are shown only this once. Each one signs you in once in place of a
        code from the app, if you lose your phone.
      </p>
      <ul aria-label="Recovery codes" className="grid grid-cols-2 gap-2 font-mono text-sm text-fg">
        {codes.map((code) => (
          <li key={code} className="rounded-md bg-surface-muted px-2 py-1 text-center">
            {code}
          </li>
        ))}
      </ul>
      <div className="flex flex-wrap gap-2">
        <Button
          size="sm"
          variant="secondary"
          icon={<Copy aria-hidden className="size-4" />}
          onClick={() =>
            void navigator.clipboard
              ?.writeText(codes.join("\n"))
              .then(() => toast({ title: "Recovery codes copied", tone: "info" }))
          }
        >
          Copy codes
        </Button>
        <Button size="sm" onClick={onDone}>
          I have saved them
        </Button>
      </div>
    </section>
  );
}

/**
 * TOTP enrolment (after the password) with a QR code and a confirming code, which hands out the
 * recovery codes; new recovery codes need the password; switching it off needs a code.
 */
export function MfaSection({
  totpEnabled,
  local,
  recoveryCodesLeft,
}: {
  totpEnabled: boolean;
  local: boolean;
  recoveryCodesLeft: number;
}) {
  const utils = trpc.useUtils();
  const enroll = trpc.auth.mfa.enroll.useMutation();
  const confirm = trpc.auth.mfa.confirm.useMutation();
  const disable = trpc.auth.mfa.disable.useMutation();
  const regenerate = trpc.auth.mfa.regenerateRecoveryCodes.useMutation();
  const [secret, setSecret] = useState<{ secret: string; otpauthUri: string } | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [askPassword, setAskPassword] = useState<"enroll" | "regenerate" | null>(null);
  const qr = useQrDataUrl(secret?.otpauthUri ?? null);

  return (
    <Card className="p-5">
      <section id="mfa" aria-labelledby="mfa-title" className="scroll-mt-24 space-y-4">
        <div className="flex flex-wrap items-center justify-between gap-2">
          <h2 id="mfa-title" className="flex items-center gap-2 text-lg font-semibold text-fg">
            <ShieldCheck aria-hidden className="size-5 text-primary" />
            Two-factor authentication
          </h2>
          {local ? (
            <Badge tone={totpEnabled ? "success" : "neutral"}>{totpEnabled ? "On" : "Off"}</Badge>
          ) : null}
        </div>
        {!local ? (
          <p className="text-sm text-fg-muted">
            Your identity provider handles two-factor authentication for this account; “Second factor” above
            shows whether this sign-in used it.
          </p>
        ) : codes ? (
          <RecoveryCodesPanel codes={codes} onDone={() => setCodes(null)} />
        ) : totpEnabled ? (
          <>
            <p className="text-sm text-fg-muted">
              Signing in asks for a code from your authenticator app. To switch it off, enter a current code.
            </p>
            <div className="flex flex-wrap items-center justify-between gap-3 rounded-lg bg-surface-muted px-3 py-2">
              <p className="text-sm text-fg">
                Recovery codes: <span className="font-medium">{recoveryCodesLeft} of 10 left</span>
              </p>
              {askPassword === "regenerate" ? null : (
                <Button size="sm" variant="secondary" onClick={() => setAskPassword("regenerate")}>
                  New recovery codes
                </Button>
              )}
            </div>
            {askPassword === "regenerate" ? (
              <PasswordConfirmForm
                submitLabel="Make new codes"
                onCancel={() => setAskPassword(null)}
                onSubmit={async (password) => {
                  const { recoveryCodes } = await regenerate.mutateAsync({ password });
                  setAskPassword(null);
                  setCodes(recoveryCodes);
                  await utils.auth.me.invalidate();
                  toast({ title: "New recovery codes", description: "The old ones no longer work." });
                }}
              />
            ) : null}
            <CodeForm
              label="Current code"
              submitLabel="Turn off"
              variant="danger"
              onSubmit={async (code) => {
                await disable.mutateAsync({ code });
                await utils.auth.me.invalidate();
                toast({ title: "Two-factor authentication is off" });
              }}
            />
          </>
        ) : secret ? (
          <div className="space-y-4">
            <ol className="list-decimal space-y-1 pl-5 text-sm text-fg-muted">
              <li>Scan the code with an authenticator app (or type the key).</li>
              <li>Enter the six-digit code the app shows to finish.</li>
            </ol>
            <div className="flex flex-wrap items-center gap-5">
              <div className="flex size-[200px] items-center justify-center rounded-lg bg-white p-1">
                {qr ? (
                  <img src={qr} width={200} height={200} alt="QR code for your authenticator app" />
                ) : (
                  <span className="text-xs text-neutral-500">Drawing QR code…</span>
                )}
              </div>
              <div className="min-w-0 space-y-2">
                <p className="text-xs font-medium text-fg-muted">Setup key</p>
                <code className="block rounded-md bg-surface-muted px-2 py-1 font-mono text-sm break-all text-fg">
                  {secret.secret}
                </code>
                <Button
                  size="sm"
                  variant="ghost"
                  icon={<Copy aria-hidden className="size-4" />}
                  onClick={() =>
                    void navigator.clipboard
                      ?.writeText(secret.secret)
                      .then(() => toast({ title: "Key copied", tone: "info" }))
                  }
                >
                  Copy key
                </Button>
              </div>
            </div>
            <CodeForm
              label="Code from the app"
              submitLabel="Turn on"
              variant="primary"
              onSubmit={async (code) => {
                const { recoveryCodes } = await confirm.mutateAsync({ code });
                setSecret(null);
                setCodes(recoveryCodes);
                await utils.auth.me.invalidate();
                toast({
                  title: "Two-factor authentication is on",
                  description: "Workspaces that require it ask for a code when you launch them.",
                });
              }}
            />
          </div>
        ) : askPassword === "enroll" ? (
          <>
            <p className="text-sm text-fg-muted">
              Confirm it's you: enter your password to set up two-factor.
            </p>
            <PasswordConfirmForm
              submitLabel="Continue"
              onCancel={() => setAskPassword(null)}
              onSubmit={async (password) => {
                setSecret(await enroll.mutateAsync({ password }));
                setAskPassword(null);
              }}
            />
          </>
        ) : (
          <>
            <p className="text-sm text-fg-muted">
              Protect your account with a code from an authenticator app. Some workspaces require it.
            </p>
            <Button onClick={() => setAskPassword("enroll")}>Set up two-factor</Button>
          </>
        )}
      </section>
    </Card>
  );
}
