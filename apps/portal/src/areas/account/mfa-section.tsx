import { TotpCodeSchema } from "@neosc/core/auth";
import { Copy, ShieldCheck } from "lucide-react";
import { type FormEvent, useEffect, useState } from "react";
import { Button } from "../../components/ui/button.tsx";
import { Badge, Card } from "../../components/ui/feedback.tsx";
import { FormError, TextField } from "../../components/ui/field.tsx";
import { toast, toastError } from "../../components/ui/toast.ts";
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

/** TOTP enrolment with a QR code and a confirming code; switching it off needs a code too. */
export function MfaSection({ totpEnabled, local }: { totpEnabled: boolean; local: boolean }) {
  const utils = trpc.useUtils();
  const enroll = trpc.auth.mfa.enroll.useMutation();
  const confirm = trpc.auth.mfa.confirm.useMutation();
  const disable = trpc.auth.mfa.disable.useMutation();
  const [secret, setSecret] = useState<{ secret: string; otpauthUri: string } | null>(null);
  const qr = useQrDataUrl(secret?.otpauthUri ?? null);

  async function start() {
    try {
      setSecret(await enroll.mutateAsync());
    } catch (error) {
      toastError(error);
    }
  }

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
        ) : totpEnabled ? (
          <>
            <p className="text-sm text-fg-muted">
              Signing in asks for a code from your authenticator app. To switch it off, enter a current code.
            </p>
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
                await confirm.mutateAsync({ code });
                setSecret(null);
                await utils.auth.me.invalidate();
                toast({
                  title: "Two-factor authentication is on",
                  description: "Sign out and back in with a code to use workspaces that require it.",
                });
              }}
            />
          </div>
        ) : (
          <>
            <p className="text-sm text-fg-muted">
              Protect your account with a code from an authenticator app. Some workspaces require it.
            </p>
            <Button loading={enroll.isPending} onClick={() => void start()}>
              Set up two-factor
            </Button>
          </>
        )}
      </section>
    </Card>
  );
}
