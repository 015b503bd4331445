import { sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { validate } from './discord-schemas.ts';

let snowflakeCounter = 0n;
/** A real-looking snowflake (18-19 digits): discord.js finds rate-limit major ids with /\d{17,19}/. */
export function snowflake(): string {
  snowflakeCounter += 1n;
  return String((BigInt(Date.now() - 1420070400000) << 22n) + snowflakeCounter);
}

export interface FakeGuild {
  id: string;
  name: string;
  /** Text channels, or forum channels (type 15) with the tags posts may carry. */
  channels: Array<{ id: string; name: string; type?: 0 | 5 | 15; tags?: Array<{ id: string; name: string }> }>;
  /** Roles besides @everyone. */
  roles?: Array<{ id: string; name: string; mentionable: boolean }>;
}

export interface SentMessage {
  id: string;
  channelId: string;
  body: Record<string, unknown>;
  edits: Array<Record<string, unknown>>;
}

export interface FakeDiscordOptions {
  token: string;
  appId: string;
  guilds: FakeGuild[];
  /** Requests per second across all routes except interaction callbacks (fixed 1-second window). */
  globalLimit?: number;
  /** Per channel message bucket: `limit` per `windowMs`. */
  channelBucket?: { limit: number; windowMs: number };
  /** Delay before answering an interaction callback (a slow network), to widen defer/edit races. */
  callbackDelayMs?: number;
  /** How long a nonce with `enforce_nonce` de-duplicates ("a few minutes" at Discord; default 5 min). */
  nonceWindowMs?: number;
  /**
   * Decides per message post whether to fault: `lose` creates the message and then drops the connection
   * before answering (the answer is lost), `500` answers an error without creating it, `hold` keeps the
   * request until `releaseHeld()` and then creates the message (answering if the client is still there).
   */
  fault?: (post: { channelId: string; count: number }) => 'lose' | '500' | '50035' | 'hold' | null;
  /**
   * Decides per thread creation (a forum post, or a thread started on a message) whether to lose the answer:
   * `lose` creates the thread and then drops the connection before answering. Thread creation takes no
   * nonce, so Discord cannot absorb a repeat: a repeated forum post is a second post, and a thread started
   * again on the same message answers 400 (code 160004).
   */
  threadFault?: (create: { channelId: string; count: number }) => 'lose' | null;
  /**
   * Over HTTP interactions, Discord processes the deferral answered in the HTTP response a moment after it
   * arrives: an edit that beats it gets 404 Unknown interaction (10062). `after-first-edit` makes the fake
   * process a deferral only once it has refused one such edit, so the race happens every time.
   */
  deferralLag?: 'after-first-edit';
  /** Called when a message was created, before the answer is written (crash tests kill the bot here). */
  onPosted?: (post: { channelId: string; messageId: string; count: number }) => void;
  /** Shards GET /gateway/bot recommends (default 1). */
  recommendedShards?: number;
}

/** The shard a guild lives on, as Discord computes it: (guild_id >> 22) % shard_count. */
export const shardOf = (guildId: string, shardCount: number) => Number((BigInt(guildId) >> 22n) % BigInt(shardCount));

export interface InteractionInput {
  /** 1 PING, 2 command, 3 component (button), 4 autocomplete. */
  type: 1 | 2 | 3 | 4;
  /** Null: a direct message with the bot (no guild, `user` instead of `member`). */
  guildId: string | null;
  channelId: string;
  userId?: string;
  permissions?: bigint;
  /**
   * The channel it was typed in, as a real client sends it: a text channel (default), or a thread (11), for
   * instance a forum post, with its parent. A forum itself (15) has no message box: no client sends that.
   */
  channel?: { type: 0 | 5 | 11 | 15; parentId?: string };
  data: Record<string, unknown>;
  waitForEdit?: boolean;
}

interface Interaction {
  id: string;
  token: string;
  createdAt: number;
  callbacks: Array<Record<string, unknown>>;
  edits: Array<Record<string, unknown>>;
  followups: Array<Record<string, unknown>>;
  deleted?: boolean;
  overHttp?: boolean;
  /** Over HTTP: the deferral edits may follow has been processed (see `deferralLag`). */
  onEarlyEdit?: () => void;
}

/**
 * A protocol-faithful Discord on 127.0.0.1 for the unmodified discord.js client: REST under /api/v10 with
 * bodies checked against the official schemas, real rate-limit headers and 429s, and a JSON gateway
 * (HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME, INTERACTION_CREATE injected by tests).
 * Every violation is recorded: tests assert there are none.
 */
export async function startFakeDiscord(options: FakeDiscordOptions) {
  const violations: string[] = [];
  const messages: SentMessage[] = [];
  const commandRegistrations: Array<{ guildId: string | null; body: unknown }> = [];
  const interactions = new Map<string, Interaction>();
  const deletedChannels = new Set<string>();
  const forbiddenChannels = new Set<string>();
  const revokedChannels = new Set<string>();
  const nonces = new Map<string, { message: SentMessage; at: number }>();
  const threads: Array<{ parentId: string; threadId: string; name: string; fromMessageId: string | null; appliedTags: string[] }> = [];
  const counters = { requests: 0, rateLimited: 0, globalRateLimited: 0, messagePosts: 0, held: 0, heldAbandoned: 0, identifies: 0, resumes: 0, lostResponses: 0, faults500: 0, nonceRepeats: 0, channelLookups: 0, threadPosts: 0, threadRepeats: 0, activeThreadLookups: 0, earlyEdits: 0 };
  const failNext: Array<{ status: number; times: number }> = [];
  const bucketUse = new Map<string, { count: number; resetAt: number }>();
  let globalWindow = { start: 0, count: 0 };
  const sockets = new Set<WebSocket>();
  /** Each identified connection's shard: [id, count]. */
  const socketShards = new Map<WebSocket, [number, number]>();
  const identifiedShards: Array<[number, number]> = [];
  let sequence = 0;
  const sessionId = `session-${snowflake()}`;
  let droppedOnce = false;

  let releaseHolds: () => void = () => {};
  let holds = new Promise<void>((resolve) => (releaseHolds = resolve));
  const server = createServer((req, res) => void handle(req, res));
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (req.url?.includes('compress=')) {
      violations.push('gateway: the client asked for compression (keep zlib-sync out of the tree)');
    }
    wss.handleUpgrade(req, socket, head, (ws) => gateway(ws));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    // 204 No Content carries no body and no content type, as Discord answers it.
    if (status === 204) return void res.writeHead(204, headers).end();
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body === null ? undefined : JSON.stringify(body));
  }

  function invalid(res: ServerResponse, route: string, problems: string[]) {
    for (const p of problems) violations.push(`${route}: ${p}`);
    json(res, 400, { message: 'Invalid Form Body', code: 50035, errors: problems });
  }

  async function readBody(req: IncomingMessage): Promise<unknown> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if (!raw) return undefined;
    try {
      return JSON.parse(raw);
    } catch {
      return { __unparseable: raw };
    }
  }

  /** Rate limits with Discord's headers: a global fixed window and a per-channel message bucket. */
  function rateLimit(res: ServerResponse, bucketKey: string | null): boolean {
    const now = Date.now();
    const limit = options.globalLimit ?? 50;
    if (now - globalWindow.start >= 1000) globalWindow = { start: now, count: 0 };
    globalWindow.count++;
    if (globalWindow.count > limit) {
      counters.rateLimited++;
      counters.globalRateLimited++;
      const retryAfter = (1000 - (now - globalWindow.start)) / 1000;
      json(res, 429, { message: 'You are being rate limited.', retry_after: retryAfter, global: true }, {
        'retry-after': retryAfter.toFixed(3), 'x-ratelimit-global': 'true', 'x-ratelimit-scope': 'global',
      });
      return false;
    }
    if (!bucketKey) return true;
    const bucket = options.channelBucket ?? { limit: 5, windowMs: 5000 };
    let use = bucketUse.get(bucketKey);
    if (!use || now >= use.resetAt) use = { count: 0, resetAt: now + bucket.windowMs };
    bucketUse.set(bucketKey, use);
    const resetAfter = (use.resetAt - now) / 1000;
    const headers = {
      'x-ratelimit-limit': String(bucket.limit),
      'x-ratelimit-remaining': String(Math.max(0, bucket.limit - use.count - 1)),
      'x-ratelimit-reset': (use.resetAt / 1000).toFixed(3),
      'x-ratelimit-reset-after': resetAfter.toFixed(3),
      'x-ratelimit-bucket': 'channel-messages',
    };
    if (use.count >= bucket.limit) {
      counters.rateLimited++;
      json(res, 429, { message: 'You are being rate limited.', retry_after: resetAfter, global: false }, { ...headers, 'retry-after': resetAfter.toFixed(3), 'x-ratelimit-scope': 'user' });
      return false;
    }
    use.count++;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    return true;
  }

  const dmChannels = new Map<string, string>();
  const guildOf = (channelId: string) => options.guilds.find((g) => g.channels.some((c) => c.id === channelId))?.id ?? null;
  const knownChannel = (id: string) => options.guilds.some((g) => g.channels.some((c) => c.id === id)) || [...dmChannels.values()].includes(id);

  /** Created, but the answer never arrives: the connection drops before it is written. */
  function loseAnswer(res: ServerResponse) {
    counters.lostResponses++;
    res.socket?.destroy();
  }

  function threadObject(thread: (typeof threads)[number]) {
    return {
      id: thread.threadId, type: 11, name: thread.name, parent_id: thread.parentId, guild_id: guildOf(thread.parentId), owner_id: options.appId,
      applied_tags: thread.appliedTags, message_count: 0, member_count: 1, rate_limit_per_user: 0, flags: 0, last_message_id: thread.threadId,
      thread_metadata: { archived: false, auto_archive_duration: thread.fromMessageId ? 1440 : 10080, archive_timestamp: new Date().toISOString(), locked: false },
    };
  }

  function messageObject(message: SentMessage) {
    return {
      id: message.id, channel_id: message.channelId, type: 0, content: message.body.content ?? '', embeds: message.body.embeds ?? [],
      components: message.body.components ?? [], author: { id: options.appId, username: 'inkwire', discriminator: '0', avatar: null, bot: true },
      timestamp: new Date().toISOString(), edited_timestamp: null, tts: false, mention_everyone: false, mentions: [], mention_roles: [],
      attachments: [], pinned: false, flags: 0, nonce: message.body.nonce,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    counters.requests++;
    const url = new URL(req.url ?? '/', origin);
    const path = url.pathname.replace(/%40/g, '@');
    const method = req.method ?? 'GET';
    const route = `${method} ${path.replace(/\d{17,20}/g, ':id')}`;
    const body = await readBody(req);
    const interactionRoute = path.startsWith('/api/v10/interactions/') || path.startsWith('/api/v10/webhooks/');
    if (!interactionRoute && req.headers.authorization !== `Bot ${options.token}`) {
      // Say what is wrong with it without echoing any of the token.
      const header = req.headers.authorization;
      violations.push(`${route}: missing or wrong Authorization header (${header ? `${header.startsWith('Bot ') ? 'Bot' : 'no Bot'} scheme, ${header.length} characters` : 'none'})`);
      return json(res, 401, { message: '401: Unauthorized', code: 0 });
    }
    const fault = failNext[0];
    if (fault && !interactionRoute) {
      if (--fault.times <= 0) failNext.shift();
      return json(res, fault.status, { message: 'Internal Server Error', code: 0 });
    }
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/api/v10/gateway/bot') {
      return json(res, 200, { url: `ws://127.0.0.1:${port}/gateway`, shards: options.recommendedShards ?? 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 } });
    }
    if (method === 'GET' && path === '/api/v10/users/@me') {
      return json(res, 200, { id: options.appId, username: 'inkwire', discriminator: '0', avatar: null, bot: true, global_name: null });
    }
    if (method === 'GET' && (m = /^\/api\/v10\/channels\/(\d+)$/.exec(path))) {
      if (!rateLimit(res, null)) return;
      counters.channelLookups++;
      const guild = options.guilds.find((g) => g.channels.some((c) => c.id === m![1]));
      const channel = guild?.channels.find((c) => c.id === m![1]);
      if (!guild || !channel || deletedChannels.has(channel.id)) return json(res, 404, { message: 'Unknown Channel', code: 10003 });
      if (revokedChannels.has(channel.id)) return json(res, 403, { message: 'Missing Access', code: 50001 });
      return json(res, 200, channelPayload(guild, channel, guild.channels.indexOf(channel)));
    }
    if (method === 'GET' && (m = /^\/api\/v10\/guilds\/(\d+)\/roles$/.exec(path))) {
      if (!rateLimit(res, null)) return;
      const guild = options.guilds.find((g) => g.id === m![1]);
      if (!guild) return json(res, 404, { message: 'Unknown Guild', code: 10004 });
      return json(res, 200, guildPayload(guild).roles);
    }
    if (method === 'POST' && path === '/api/v10/users/@me/channels') {
      const recipient = (body as { recipient_id?: string } | undefined)?.recipient_id;
      if (!recipient || !/^\d{17,20}$/.test(recipient)) return invalid(res, route, ['recipient_id: expected a snowflake']);
      const dm = dmChannels.get(recipient) ?? snowflake();
      dmChannels.set(recipient, dm);
      return json(res, 200, { id: dm, type: 1, recipients: [{ id: recipient, username: 'reader', discriminator: '0', avatar: null }] });
    }
    if (method === 'PUT' && (m = /^\/api\/v10\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(path))) {
      if (m[1] !== options.appId) violations.push(`${route}: wrong application id ${m[1]}`);
      const problems = validate.commands(body);
      if (problems.length > 0) return invalid(res, route, problems);
      commandRegistrations.push({ guildId: m[2] ?? null, body });
      return json(res, 200, (body as Array<Record<string, unknown>>).map((c) => ({ ...c, id: snowflake(), application_id: options.appId, version: snowflake() })));
    }
    if (method === 'POST' && (m = /^\/api\/v10\/channels\/(\d+)\/messages$/.exec(path))) {
      const channelId = m[1]!;
      if (!rateLimit(res, `messages:${channelId}`)) return;
      counters.messagePosts++;
      if (deletedChannels.has(channelId) || !knownChannel(channelId)) return json(res, 404, { message: 'Unknown Channel', code: 10003 });
      if (forbiddenChannels.has(channelId)) return json(res, 403, { message: 'Missing Permissions', code: 50013 });
      if (revokedChannels.has(channelId)) return json(res, 403, { message: 'Missing Access', code: 50001 });
      if (options.guilds.some((g) => g.channels.some((c) => c.id === channelId && c.type === 15))) {
        return json(res, 400, { message: 'Cannot send messages in a non-text channel', code: 50008 });
      }
      const problems = validate.messageCreate(body);
      if (problems.length > 0) return invalid(res, route, problems);
      const fault = options.fault?.({ channelId, count: counters.messagePosts }) ?? null;
      if (fault === '500') {
        counters.faults500++;
        return json(res, 500, { message: 'Internal Server Error', code: 0 });
      }
      if (fault === '50035') return json(res, 400, { message: 'Invalid Form Body', code: 50035, errors: { embeds: { _errors: [{ code: 'BASE_TYPE_BAD', message: 'refused for the test' }] } } });
      if (fault === 'hold') {
        counters.held++;
        res.on('close', () => void (res.writableFinished || counters.heldAbandoned++));
        await holds;
      }
      const b = body as Record<string, unknown>;
      const nonceKey = b.enforce_nonce ? `${channelId}:${String(b.nonce)}` : null;
      const seen = nonceKey ? nonces.get(nonceKey) : undefined;
      let message: SentMessage;
      if (seen && Date.now() - seen.at < (options.nonceWindowMs ?? 5 * 60_000)) {
        counters.nonceRepeats++;
        message = seen.message; // Discord returns the message created earlier with this nonce
      } else {
        message = { id: snowflake(), channelId, body: b, edits: [] };
        messages.push(message);
        if (nonceKey) nonces.set(nonceKey, { message, at: Date.now() });
        options.onPosted?.({ channelId, messageId: message.id, count: messages.length });
      }
      if (fault === 'lose') return loseAnswer(res);
      return json(res, 200, messageObject(message));
    }
    if (method === 'POST' && (m = /^\/api\/v10\/channels\/(\d+)\/messages\/(\d+)\/threads$/.exec(path))) {
      // A thread under a message: its name, an archive duration; the message must be in that channel.
      if (!rateLimit(res, `threads:${m[1]}`)) return;
      if (!messages.some((x) => x.id === m![2] && x.channelId === m![1])) return json(res, 404, { message: 'Unknown Message', code: 10008 });
      const problems = validate.threadFromMessage(body);
      if (problems.length > 0) return invalid(res, route, problems);
      counters.threadPosts++;
      // No nonce here either: a message has at most one thread, and a second start is refused.
      if (threads.some((t) => t.fromMessageId === m![2])) {
        counters.threadRepeats++;
        return json(res, 400, { message: 'A thread has already been created for this message', code: 160004 });
      }
      const thread = { parentId: m[1]!, threadId: m[2]!, name: String((body as { name: string }).name), fromMessageId: m[2]!, appliedTags: [] };
      threads.push(thread);
      if (options.threadFault?.({ channelId: m[1]!, count: counters.threadPosts }) === 'lose') return loseAnswer(res);
      return json(res, 201, threadObject(thread));
    }
    if (method === 'POST' && (m = /^\/api\/v10\/channels\/(\d+)\/threads$/.exec(path))) {
      // A forum post: the thread and its first message at once.
      if (!rateLimit(res, `threads:${m[1]}`)) return;
      const forum = options.guilds.flatMap((g) => g.channels).find((c) => c.id === m![1]);
      if (!forum) return json(res, 404, { message: 'Unknown Channel', code: 10003 });
      if (forum.type !== 15) return invalid(res, route, ['a thread without a message needs a forum channel here']);
      const problems = validate.forumThread(body);
      if (problems.length > 0) return invalid(res, route, problems);
      const b = body as { name: string; message: Record<string, unknown>; applied_tags?: string[] };
      for (const tag of b.applied_tags ?? []) if (!(forum.tags ?? []).some((t) => t.id === tag)) violations.push(`${route}: unknown tag ${tag}`);
      counters.threadPosts++;
      // Every request makes a new post: thread creation takes no nonce.
      const threadId = snowflake();
      const message: SentMessage = { id: threadId, channelId: threadId, body: b.message, edits: [] };
      messages.push(message);
      const thread = { parentId: forum.id, threadId, name: b.name, fromMessageId: null, appliedTags: b.applied_tags ?? [] };
      threads.push(thread);
      if (options.threadFault?.({ channelId: forum.id, count: counters.threadPosts }) === 'lose') return loseAnswer(res);
      return json(res, 201, { ...threadObject(thread), message: messageObject(message) });
    }
    if (method === 'GET' && (m = /^\/api\/v10\/guilds\/(\d+)\/threads\/active$/.exec(path))) {
      // Every active thread of the server, whatever its parent (Discord has no per-channel filter here).
      if (!rateLimit(res, null)) return;
      counters.activeThreadLookups++;
      const guild = options.guilds.find((g) => g.id === m![1]);
      if (!guild) return json(res, 404, { message: 'Unknown Guild', code: 10004 });
      return json(res, 200, { threads: threads.filter((t) => guildOf(t.parentId) === guild.id).map(threadObject), members: [] });
    }
    if (method === 'GET' && (m = /^\/api\/v10\/channels\/(\d+)\/messages\/(\d+)$/.exec(path))) {
      if (!rateLimit(res, null)) return;
      const message = messages.find((x) => x.id === m![2] && x.channelId === m![1]);
      if (!message) return json(res, 404, { message: 'Unknown Message', code: 10008 });
      return json(res, 200, messageObject(message));
    }
    if (method === 'PATCH' && (m = /^\/api\/v10\/channels\/(\d+)\/messages\/(\d+)$/.exec(path))) {
      if (!rateLimit(res, `messages:${m[1]}`)) return;
      const message = messages.find((x) => x.id === m![2] && x.channelId === m![1]);
      if (!message) return json(res, 404, { message: 'Unknown Message', code: 10008 });
      const problems = validate.messageEdit(body);
      if (problems.length > 0) return invalid(res, route, problems);
      message.edits.push(body as Record<string, unknown>);
      return json(res, 200, messageObject(message));
    }
    if (method === 'POST' && (m = /^\/api\/v10\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path))) {
      const interaction = interactions.get(m[1]!);
      if (!interaction || interaction.token !== m[2]) return json(res, 404, { message: 'Unknown interaction', code: 10062 });
      if (Date.now() - interaction.createdAt > 3000) {
        violations.push(`${route}: interaction answered after ${Date.now() - interaction.createdAt} ms (limit 3000)`);
        return json(res, 404, { message: 'Unknown interaction', code: 10062 });
      }
      if (interaction.callbacks.length > 0) return json(res, 400, { message: 'Interaction has already been acknowledged.', code: 40060 });
      const problems = validate.callback(body);
      if (problems.length > 0) return invalid(res, route, problems);
      // Acknowledged when Discord answers, not when the request arrives.
      if (options.callbackDelayMs) await new Promise((resolve) => setTimeout(resolve, options.callbackDelayMs));
      interaction.callbacks.push(body as Record<string, unknown>);
      return json(res, 204, null);
    }
    if ((m = /^\/api\/v10\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/@original)?$/.exec(path))) {
      const interaction = [...interactions.values()].find((i) => i.token === m![2]);
      if (!interaction) return json(res, 404, { message: 'Unknown Webhook', code: 10015 });
      if (interaction.overHttp && interaction.callbacks.length === 0) {
        // Over HTTP the deferral is the answer to Discord's request: until Discord has read and processed it,
        // the interaction is unknown to the webhook, as at Discord (no grace period).
        counters.earlyEdits++;
        interaction.onEarlyEdit?.();
        return json(res, 404, { message: 'Unknown interaction', code: 10062 });
      }
      if (interaction.callbacks.length === 0) {
        violations.push(`${route}: the original response was edited before the interaction was acknowledged`);
        return json(res, 404, { message: 'Unknown Webhook', code: 10015 });
      }
      if (method === 'PATCH') {
        const problems = validate.webhookEdit(body);
        if (problems.length > 0) return invalid(res, route, problems);
        interaction.edits.push(body as Record<string, unknown>);
      } else if (method === 'POST') {
        const problems = validate.followup(body);
        if (problems.length > 0) return invalid(res, route, problems);
        interaction.followups.push(body as Record<string, unknown>);
      } else if (method === 'DELETE') {
        interaction.deleted = true;
        return json(res, 204, null);
      }
      return json(res, 200, messageObject({ id: snowflake(), channelId: '0', body: (body ?? {}) as Record<string, unknown>, edits: [] }));
    }
    violations.push(`${route}: no such route in the fake (unknown routes fail the test)`);
    return json(res, 404, { message: '404: Not Found', code: 0 });
  }

  function send(ws: WebSocket, payload: Record<string, unknown>) {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(payload));
  }

  function dispatch(t: string, d: unknown, guildId?: string | null) {
    sequence++;
    for (const ws of sockets) {
      // A guild's events go to the connection of the shard that holds it, as Discord routes them.
      const shard = socketShards.get(ws);
      if (guildId && shard && shardOf(guildId, shard[1]) !== shard[0]) continue;
      if (guildId === null && shard && shard[0] !== 0) continue; // direct messages arrive on shard 0
      send(ws, { op: 0, t, s: sequence, d });
    }
  }

  function channelPayload(guild: FakeGuild, c: FakeGuild['channels'][number], i: number) {
    return {
      id: c.id, type: c.type ?? 0, name: c.name, position: i, permission_overwrites: [], guild_id: guild.id,
      ...(c.type === 15 ? { available_tags: (c.tags ?? []).map((t) => ({ id: t.id, name: t.name, moderated: false, emoji_id: null, emoji_name: null })), default_reaction_emoji: null, flags: 0, default_forum_layout: 0, default_sort_order: null } : {}),
    };
  }

  function guildPayload(guild: FakeGuild) {
    return {
      id: guild.id, name: guild.name, unavailable: false, owner_id: snowflake(), member_count: 2, large: false,
      roles: [
        { id: guild.id, name: '@everyone', permissions: '0', position: 0, color: 0, hoist: false, managed: false, mentionable: false },
        ...(guild.roles ?? []).map((r, i) => ({ id: r.id, name: r.name, permissions: '0', position: i + 1, color: 0, hoist: false, managed: false, mentionable: r.mentionable })),
      ],
      channels: guild.channels.map((c, i) => channelPayload(guild, c, i)),
      members: [], emojis: [], stickers: [], features: [], threads: [], presences: [], voice_states: [], stage_instances: [], guild_scheduled_events: [],
      joined_at: new Date().toISOString(), afk_timeout: 300, verification_level: 0, default_message_notifications: 0, explicit_content_filter: 0,
      mfa_level: 0, premium_tier: 0, preferred_locale: 'en-US', system_channel_flags: 0, nsfw_level: 0, premium_progress_bar_enabled: false,
    };
  }

  function gateway(ws: WebSocket) {
    sockets.add(ws);
    ws.on('close', () => {
      sockets.delete(ws);
      socketShards.delete(ws);
    });
    send(ws, { op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null });
    ws.on('message', (raw) => {
      const payload = JSON.parse(String(raw)) as { op: number; d: Record<string, unknown> };
      if (payload.op === 1) return send(ws, { op: 11, d: null, s: null, t: null });
      if (payload.op === 2) {
        counters.identifies++;
        if (payload.d.token !== options.token) return ws.close(4004, 'Authentication failed');
        if (payload.d.intents !== 1) violations.push(`gateway: IDENTIFY intents ${String(payload.d.intents)} (expected Guilds only = 1)`);
        const shard = (Array.isArray(payload.d.shard) ? payload.d.shard : [0, 1]) as [number, number];
        if (!(shard[1] >= 1 && shard[0] >= 0 && shard[0] < shard[1])) violations.push(`gateway: IDENTIFY shard ${JSON.stringify(payload.d.shard)} is not [id < count]`);
        socketShards.set(ws, shard);
        identifiedShards.push(shard);
        const mine = options.guilds.filter((g) => shardOf(g.id, shard[1]) === shard[0]);
        sequence = 1;
        send(ws, {
          op: 0, t: 'READY', s: sequence, d: {
            v: 10, user: { id: options.appId, username: 'inkwire', discriminator: '0', avatar: null, bot: true },
            guilds: mine.map((g) => ({ id: g.id, unavailable: true })), session_id: sessionId,
            resume_gateway_url: `ws://127.0.0.1:${port}/gateway`, shard, application: { id: options.appId, flags: 0 },
          },
        });
        for (const guild of mine) {
          sequence++;
          send(ws, { op: 0, t: 'GUILD_CREATE', s: sequence, d: guildPayload(guild) });
        }
        return;
      }
      if (payload.op === 6) {
        counters.resumes++;
        if (payload.d.session_id !== sessionId) return send(ws, { op: 9, d: false, s: null, t: null });
        sequence++;
        return send(ws, { op: 0, t: 'RESUMED', s: sequence, d: {} });
      }
    });
  }

  function register(): Interaction {
    const id = snowflake();
    const interaction: Interaction = { id, token: `tok-${id}`, createdAt: Date.now(), callbacks: [], edits: [], followups: [] };
    interactions.set(id, interaction);
    return interaction;
  }

  /** The interaction's channel as Discord sends it: a thread carries its parent, name and metadata. */
  function interactionChannel(input: InteractionInput) {
    const type = input.channel?.type ?? options.guilds.flatMap((g) => g.channels).find((c) => c.id === input.channelId)?.type ?? 0;
    // A forum has no message box: a command is typed in one of its posts (a thread), never in the forum.
    if (type === 15) violations.push(`interaction: channel ${input.channelId} is a forum, where no client can type a command (use one of its posts)`);
    const base = { id: input.channelId, type, guild_id: input.guildId, permissions: String(input.permissions ?? 0n) };
    if (type !== 11) return { ...base, name: options.guilds.flatMap((g) => g.channels).find((c) => c.id === input.channelId)?.name ?? 'channel', position: 0, permission_overwrites: [], flags: 0 };
    return {
      ...base, name: 'A post', parent_id: input.channel?.parentId ?? null, owner_id: input.userId ?? '100000000000000001', flags: 0, rate_limit_per_user: 0,
      last_message_id: null, message_count: 1, member_count: 1, total_message_sent: 1, applied_tags: [],
      thread_metadata: { archived: false, auto_archive_duration: 10080, archive_timestamp: new Date().toISOString(), locked: false, create_timestamp: new Date().toISOString() },
    };
  }

  function interactionPayload(interaction: Interaction, input: InteractionInput) {
    const user = { id: input.userId ?? '100000000000000001', username: 'reader', discriminator: '0', avatar: null, global_name: 'Reader' };
    return {
      id: interaction.id, application_id: options.appId, type: input.type, token: interaction.token, version: 1, ...(input.type === 1 ? {} : { data: input.data }),
      ...(input.type === 3 ? { message: messageObject({ id: snowflake(), channelId: input.channelId, body: { content: 'Earlier reply', embeds: [{ title: 'Shared card' }] }, edits: [] }) } : {}),
      ...(input.guildId
        ? {
            guild_id: input.guildId, channel_id: input.channelId, channel: interactionChannel(input),
            member: { user, roles: [], permissions: String(input.permissions ?? 0n), joined_at: '2024-01-01T00:00:00.000Z', deaf: false, mute: false, flags: 0 },
          }
        : { channel_id: input.channelId, channel: { id: input.channelId, type: 1 }, user }),
      app_permissions: String((1n << 10n) | (1n << 11n) | (1n << 14n)), locale: 'en-US', guild_locale: 'en-US',
      entitlements: [], authorizing_integration_owners: input.guildId ? { '0': input.guildId } : { '1': user.id }, context: input.guildId ? 0 : 1,
    };
  }

  /** Waits until the bot has answered (and, for a deferral or with `waitForEdit`, edited or followed up). */
  async function awaitAnswer(interaction: Interaction, waitForEdit: boolean) {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const deferred = interaction.callbacks[0]?.type === 5;
      const answered = interaction.edits.length > 0 || interaction.followups.length > 0;
      if (interaction.callbacks.length > 0 && (!deferred || answered) && (!waitForEdit || answered)) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return interaction;
  }

  return {
    origin,
    apiUrl: `${origin}/api`,
    violations,
    messages,
    commandRegistrations,
    counters,
    /** The [shard id, shard count] of every IDENTIFY, in order. */
    identifiedShards,
    messagesIn: (channelId: string) => messages.filter((m) => m.channelId === channelId),
    threads,
    dmChannelOf: (userId: string) => dmChannels.get(userId),
    deleteChannel: (channelId: string) => void deletedChannels.add(channelId),
    forbidChannel: (channelId: string) => void forbiddenChannels.add(channelId),
    /** The bot loses sight of the channel (Missing Access, 50001), as when its role is removed there. */
    revokeAccess: (channelId: string) => void revokedChannels.add(channelId),
    failNextRequests: (status: number, times: number) => void failNext.push({ status, times }),
    dispatch,
    /** Drops every gateway connection (code 1006-like), as a network blip would. */
    dropConnections() {
      droppedOnce = true;
      for (const ws of sockets) ws.terminate();
    },
    get dropped() {
      return droppedOnce;
    },
    guildDelete: (guildId: string) => dispatch('GUILD_DELETE', { id: guildId, unavailable: false }, guildId),
    channelDelete: (guildId: string, channelId: string) => {
      deletedChannels.add(channelId);
      dispatch('CHANNEL_DELETE', { id: channelId, type: 0, guild_id: guildId, name: 'gone', position: 0, permission_overwrites: [] }, guildId);
    },
    /**
     * A `channel` option as Discord sends it: the option (type 7, the channel's id) and the resolved channel,
     * which carries `permissions`: the invoking member's permissions in THAT channel.
     */
    channelOption(name: string, channelId: string, permissions: bigint) {
      const channel = options.guilds.flatMap((g) => g.channels).find((c) => c.id === channelId);
      if (!channel) throw new Error(`no channel ${channelId} in the fake`);
      return {
        option: { name, type: 7, value: channelId },
        resolved: { channels: { [channelId]: { id: channelId, name: channel.name, type: channel.type ?? 0, permissions: String(permissions), flags: 0, ...(channel.type === 15 ? { parent_id: null } : {}) } } },
      };
    },
    /**
     * Injects an interaction as Discord would, and resolves with what the bot answered (callback, then any
     * edit of the original response) once it has answered.
     */
    async interact(input: InteractionInput) {
      const interaction = register();
      dispatch('INTERACTION_CREATE', interactionPayload(interaction, input), input.guildId);
      return awaitAnswer(interaction, input.waitForEdit ?? false);
    },
    /**
     * Posts an interaction to the bot's interactions endpoint as Discord does over HTTP: signed with the
     * application's Ed25519 key (or, with `signature`, a wrong or missing one), the HTTP answer taken as the
     * callback (checked against the schema and the 3 s limit). Resolves with the HTTP status and what the bot
     * answered, after any edit of a deferred reply.
     */
    async interactOverHttp(endpoint: string, privateKey: KeyObject, input: InteractionInput & { signature?: 'valid' | 'wrong' | 'missing' | 'stale' }) {
      const interaction = register();
      interaction.overHttp = true;
      const body = JSON.stringify(interactionPayload(interaction, input));
      const timestamp = String(Math.floor(Date.now() / 1000) - (input.signature === 'stale' ? 3600 : 0));
      const signature = sign(null, Buffer.from(timestamp + (input.signature === 'wrong' ? `${body} ` : body)), privateKey).toString('hex');
      const started = Date.now();
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(input.signature === 'missing' ? {} : { 'x-signature-ed25519': signature, 'x-signature-timestamp': timestamp }) },
        body,
      });
      const elapsedMs = Date.now() - started;
      const text = await res.text();
      if (res.status === 200) {
        if (elapsedMs > 3000) violations.push(`interactions endpoint answered after ${elapsedMs} ms (limit 3000)`);
        const answer = JSON.parse(text) as Record<string, unknown>;
        if (answer.type !== 1) {
          const problems = validate.callback(answer);
          for (const p of problems) violations.push(`interactions endpoint answer: ${p}`);
        }
        if (options.deferralLag === 'after-first-edit' && answer.type === 5) {
          // Discord processes the deferral late: only once an edit has beaten it (or after 3 s at most).
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 3000);
            interaction.onEarlyEdit = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        interaction.callbacks.push(answer);
        await awaitAnswer(interaction, input.waitForEdit ?? false);
      }
      return { status: res.status, elapsedMs, text, interaction };
    },
    /** Lets every request held by the `hold` fault go on (created now; answered if its client is still there). */
    releaseHeld() {
      releaseHolds();
      holds = new Promise<void>((resolve) => (releaseHolds = resolve));
    },
    async close() {
      releaseHolds();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type FakeDiscord = Awaited<ReturnType<typeof startFakeDiscord>>;
