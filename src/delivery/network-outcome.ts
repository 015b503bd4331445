/** Network failures that happen before a request is written: the message cannot have been posted. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** The first system or undici error code in an error's chain (`cause`, or a client's `original`). */
export function networkCauseCode(error: unknown): string | null {
  let current = error as { code?: unknown; cause?: unknown; original?: unknown } | null;
  for (let depth = 0; current && typeof current === 'object' && depth < 6; depth++) {
    if (typeof current.code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(current.code)) return current.code;
    current = (current.original ?? current.cause) as typeof current;
  }
  return null;
}

/**
 * Whether a request that failed without an answer may still have reached the platform and posted: true
 * for timeouts and connections lost after connecting, false only when the connection was never made.
 */
export function mayHavePosted(error: unknown): boolean {
  const code = networkCauseCode(error);
  return !(code && NOT_SENT.has(code));
}
