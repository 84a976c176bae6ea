import { Secret, TOTP } from "otpauth";

/** RFC 6238 defaults every authenticator app understands. */
const ALGORITHM = "SHA1";
const DIGITS = 6;
const PERIOD_SECONDS = 30;
/** Accept the previous and the next 30 s step as well (clock drift, slow typing). */
export const TOTP_WINDOW = 1;

export interface TotpEnrollment {
  /** Base32 secret: store it (server-side only) until confirmed, then on the user. */
  secret: string;
  /** `otpauth://totp/<issuer>:<email>?secret=...` for a QR code. */
  otpauthUri: string;
}

export interface TotpMatch {
  /**
   * The time step (counter) the code belongs to. Store it as the last used step and refuse any
   * code whose step is not greater, so a code cannot be replayed within its window.
   */
  step: number;
  /** -1, 0 or 1: how far the code's step is from the current one. */
  delta: number;
}

function totpFor(secret: string, label = "", issuer = ""): TOTP {
  return new TOTP({
    issuer,
    label,
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: PERIOD_SECONDS,
    secret: Secret.fromBase32(secret),
  });
}

/** A new 160-bit TOTP secret for `email`, labelled with `issuer` (e.g. "NeoSC"). */
export function createTotpSecret(email: string, issuer: string): TotpEnrollment {
  const secret = new Secret({ size: 20 }).base32;
  return { secret, otpauthUri: totpFor(secret, email, issuer).toString() };
}

/** The time step a moment falls in. */
export function totpStep(now: Date = new Date()): number {
  return TOTP.counter({ period: PERIOD_SECONDS, timestamp: now.getTime() });
}

/**
 * Checks a six-digit code against the secret with a ±1 step window. Returns the matched step
 * (for replay protection by the caller) or null. Never throws for a malformed code.
 */
export function verifyTotp(secret: string, code: string, now: Date = new Date()): TotpMatch | null {
  if (!/^\d{6}$/.test(code)) return null;
  let delta: number | null;
  try {
    delta = totpFor(secret).validate({ token: code, timestamp: now.getTime(), window: TOTP_WINDOW });
  } catch {
    return null;
  }
  if (delta === null) return null;
  return { step: totpStep(now) + delta, delta };
}

/** The code for a moment (tests and enrolment previews; a real user reads it from their app). */
export function generateTotp(secret: string, now: Date = new Date()): string {
  return totpFor(secret).generate({ timestamp: now.getTime() });
}
