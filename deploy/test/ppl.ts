/**
 * A tiny model of how Pomerium authorizes a signed-in person, for the subset of PPL the generator
 * emits: claims flattened the way Pomerium stores them (pkg/identity Claims.Flatten), and
 * allow/deny blocks with `and`/`or` over `claim/<name>`, `authenticated_user`, `accept`, `reject`.
 * Anything else throws, so a generator change that emits more PPL fails the tests loudly.
 */

export type FlattenedClaims = Record<string, unknown[]>;

/** `{a: {b: {c: 1}}}` → `{"a.b.c": [1]}`; arrays stay lists; every other value becomes `[v]`. */
export function flattenClaims(claims: Record<string, unknown>): FlattenedClaims {
  const flattened: FlattenedClaims = {};
  for (const [key, value] of Object.entries(claims)) {
    if (Array.isArray(value)) {
      flattened[key] = [...value];
    } else if (typeof value === "object" && value !== null) {
      for (const [subKey, subValue] of Object.entries(flattenClaims(value as Record<string, unknown>))) {
        flattened[`${key}.${subKey}`] = subValue;
      }
    } else {
      flattened[key] = [value];
    }
  }
  return flattened;
}

/** True when Pomerium would let a signed-in person with these claims through. */
export function evaluatePolicy(policy: unknown, claims: FlattenedClaims): boolean {
  if (!Array.isArray(policy)) throw new Error("policy must be a list of blocks");
  let allowed = false;
  let denied = false;
  for (const block of policy) {
    const { allow, deny, ...rest } = block as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw new Error(`unsupported block keys ${Object.keys(rest)}`);
    if (allow !== undefined && evaluateAction(allow, claims)) allowed = true;
    if (deny !== undefined && evaluateAction(deny, claims)) denied = true;
  }
  return allowed && !denied;
}

function evaluateAction(action: unknown, claims: FlattenedClaims): boolean {
  const entries = Object.entries(action as Record<string, unknown>);
  if (entries.length === 0) throw new Error("empty action");
  return entries.every(([operator, criteria]) => {
    if (!Array.isArray(criteria)) throw new Error(`${operator} needs a list`);
    const results = criteria.map((criterion) => evaluateCriterion(criterion, claims));
    if (operator === "and") return results.every(Boolean);
    if (operator === "or") return results.some(Boolean);
    throw new Error(`operator ${operator} is outside the evaluated subset`);
  });
}

function evaluateCriterion(criterion: unknown, claims: FlattenedClaims): boolean {
  const entries = Object.entries(criterion as Record<string, unknown>);
  const [entry] = entries;
  if (entries.length !== 1 || entry === undefined) throw new Error("criterion must have one key");
  const [name, value] = entry;
  if (name === "accept") return value === true;
  if (name === "reject") return value !== true;
  if (name === "authenticated_user") return value === true;
  if (name.startsWith("claim/")) {
    const values = claims[name.slice("claim/".length)] ?? [];
    return values.some((candidate) => candidate === value);
  }
  throw new Error(`criterion ${name} is outside the evaluated subset`);
}
