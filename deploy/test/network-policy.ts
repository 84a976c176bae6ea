/**
 * Evaluates Kubernetes NetworkPolicies for one connection, following the API semantics: a pod
 * selected by any policy of a direction allows only what some rule of those policies allows, and a
 * connection needs both the source's egress and the destination's ingress. Covers what the NeoSC
 * manifests use: pod/namespace selectors (matchLabels, matchExpressions), ipBlock (IPv4) and ports
 * by number or name.
 */

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: string[];
  }[];
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface PolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: PolicyPort[];
}

export interface NetworkPolicy {
  metadata: { name: string; namespace?: string };
  spec: { podSelector: LabelSelector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
}

export type Endpoint =
  | {
      kind: "pod";
      name: string;
      namespace: string;
      labels: Record<string, string>;
      ip: string;
      ports: { name?: string; containerPort: number }[];
    }
  | { kind: "external"; name: string; ip: string };

export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const expression of selector.matchExpressions ?? []) {
    const has = expression.key in labels;
    const value = labels[expression.key];
    const inValues = value !== undefined && (expression.values ?? []).includes(value);
    if (expression.operator === "In" && !inValues) return false;
    if (expression.operator === "NotIn" && inValues) return false;
    if (expression.operator === "Exists" && !has) return false;
    if (expression.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

function ipToNumber(ip: string): number {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return parts.reduce((total, part) => total * 256 + part, 0);
}

export function inCidr(ip: string, cidr: string): boolean {
  const [base = "", bitsText = "32"] = cidr.split("/");
  const bits = Number(bitsText);
  const size = 2 ** (32 - bits);
  const start = Math.floor(ipToNumber(base) / size) * size;
  const value = ipToNumber(ip);
  return value >= start && value < start + size;
}

function namespaceLabels(namespace: string): Record<string, string> {
  return { "kubernetes.io/metadata.name": namespace };
}

function peerMatches(peer: Peer, policyNamespace: string, endpoint: Endpoint): boolean {
  if (peer.ipBlock) {
    return (
      inCidr(endpoint.ip, peer.ipBlock.cidr) &&
      !(peer.ipBlock.except ?? []).some((cidr) => inCidr(endpoint.ip, cidr))
    );
  }
  if (endpoint.kind !== "pod") return false;
  const namespaceOk = peer.namespaceSelector
    ? selects(peer.namespaceSelector, namespaceLabels(endpoint.namespace))
    : endpoint.namespace === policyNamespace;
  const podOk = peer.podSelector ? selects(peer.podSelector, endpoint.labels) : true;
  return namespaceOk && podOk;
}

function portMatches(
  ports: PolicyPort[] | undefined,
  port: number,
  protocol: string,
  destination: Endpoint,
): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((candidate) => {
    if ((candidate.protocol ?? "TCP") !== protocol) return false;
    if (candidate.port === undefined) return true;
    if (typeof candidate.port === "number") {
      return candidate.endPort === undefined
        ? candidate.port === port
        : port >= candidate.port && port <= candidate.endPort;
    }
    return (
      destination.kind === "pod" &&
      destination.ports.some((named) => named.name === candidate.port && named.containerPort === port)
    );
  });
}

function types(policy: NetworkPolicy): string[] {
  return policy.spec.policyTypes ?? (policy.spec.egress ? ["Ingress", "Egress"] : ["Ingress"]);
}

function applicable(
  policies: NetworkPolicy[],
  namespace: string,
  endpoint: Endpoint,
  type: string,
): NetworkPolicy[] {
  if (endpoint.kind !== "pod" || endpoint.namespace !== namespace) return [];
  return policies.filter(
    (policy) => types(policy).includes(type) && selects(policy.spec.podSelector, endpoint.labels),
  );
}

/** Whether `source` may open a connection to `destination` on `port`, given the policies of one namespace. */
export function connectionAllowed(
  policies: NetworkPolicy[],
  namespace: string,
  source: Endpoint,
  destination: Endpoint,
  port: number,
  protocol = "TCP",
): boolean {
  const egress = applicable(policies, namespace, source, "Egress");
  const egressOk =
    source.kind !== "pod" ||
    source.namespace !== namespace ||
    egress.length === 0 ||
    egress.some((policy) =>
      (policy.spec.egress ?? []).some(
        (rule) =>
          (rule.to === undefined || rule.to.some((peer) => peerMatches(peer, namespace, destination))) &&
          portMatches(rule.ports, port, protocol, destination),
      ),
    );
  const ingress = applicable(policies, namespace, destination, "Ingress");
  const ingressOk =
    destination.kind !== "pod" ||
    destination.namespace !== namespace ||
    ingress.length === 0 ||
    ingress.some((policy) =>
      (policy.spec.ingress ?? []).some(
        (rule) =>
          (rule.from === undefined || rule.from.some((peer) => peerMatches(peer, namespace, source))) &&
          portMatches(rule.ports, port, protocol, destination),
      ),
    );
  return egressOk && ingressOk;
}
