import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/** The application's public key from the Developer Portal: 64 hex characters (32 bytes of Ed25519). */
export function parseDiscordPublicKey(hex: string): KeyObject {
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error('DISCORD_PUBLIC_KEY must be the 64 hex characters shown as "Public Key" in the Developer Portal');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(hex, 'hex').toString('base64url') }, format: 'jwk' });
}

/** How far a request's timestamp may be from now before it counts as a replay (Slack uses the same 5 min). */
export const SIGNATURE_MAX_AGE_SECONDS = 300;

/**
 * How long an interaction id is remembered so that a replay of its signed request is refused: a timestamp
 * is accepted from `SIGNATURE_MAX_AGE_SECONDS` ahead of this clock to as far behind, so one request stays
 * valid for twice that from its first arrival at most; plus a minute for the clocks of instances sharing
 * the receipts.
 */
export const REPLAY_WINDOW_MS = (2 * SIGNATURE_MAX_AGE_SECONDS + 60) * 1000;

/**
 * Whether a request to the interactions endpoint was signed by Discord: Ed25519 over the timestamp header
 * followed by the raw body, and the timestamp recent (a captured request replayed later is refused; one
 * replayed within the window is refused by its interaction id, see `REPLAY_WINDOW_MS`).
 */
export function verifyDiscordRequest(key: KeyObject, headers: { signature: string | undefined; timestamp: string | undefined }, rawBody: Buffer, nowMs: number): boolean {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^[0-9a-f]{128}$/i.test(signature) || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SIGNATURE_MAX_AGE_SECONDS) return false;
  return verify(null, Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]), key, Buffer.from(signature, 'hex'));
}
