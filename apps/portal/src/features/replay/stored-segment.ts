/*
 * Fetching and opening a stored recording segment in the browser: the compressed file comes in
 * pieces from `recording.chunk`, its SHA-256 is compared with the audit chain's, then it is
 * uncompressed for the player of its kind.
 */

/**
 * A stored segment (gzip bytes) uncompressed, and whether its SHA-256 is the one the audit chain
 * holds. Every kind (desktop, terminal, access log) is checked the same way.
 */
export async function unpackSegment(
  stored: Uint8Array,
  expectedSha256: string,
): Promise<{ plain: Uint8Array; verified: boolean }> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", stored.slice().buffer));
  const hex = [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  const plain = new Uint8Array(
    await new Response(
      new Blob([stored.slice().buffer]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).arrayBuffer(),
  );
  return { plain, verified: hex === expectedSha256 };
}

/** Joins the base64 pieces `recording.chunk` returns into the stored bytes. */
export function joinPieces(pieces: string[]): Uint8Array {
  const parts = pieces.map((data) => {
    const binary = atob(data);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  });
  const stored = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    stored.set(part, at);
    at += part.length;
  }
  return stored;
}
