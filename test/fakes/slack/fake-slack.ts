import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** Signs a request body exactly as Slack does: `v0=` + HMAC-SHA256(secret, `v0:${ts}:${body}`). */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface FakeSlackOptions {
  /** Bot tokens accepted, by team. */
  tokens: Record<string, string>;
  /** Users who are workspace admins. */
  admins?: string[];
  /** Channel id → creator and kind. */
  channels?: Record<string, { creator?: string; private?: boolean; archived?: boolean; member?: boolean }>;
  /** Messages per second per channel (Slack: about 1). */
  perChannelPerSecond?: number;
  /** Messages per second across the workspace. */
  workspacePerSecond?: number;
  /** What oauth.v2.access returns for a code. */
  oauthInstalls?: Record<string, { teamId: string; botToken: string; botUserId: string }>;
  appToken?: string;
  /**
   * Decides per chat.postMessage whether to fault: `lose` posts the message and then drops the connection
   * before answering (the answer is lost), `500` answers HTTP 500 without posting, `hang` posts and never
   * answers. `hold` keeps the request unread-as-it-were until `releaseHeld()`, then posts it and answers if
   * the client is still there: a request Slack took before the client gave up lands late all the same.
   * Slack has no idempotency key: nothing here de-duplicates a repeat.
   */
  fault?: (post: { channel: string; count: number; team: string }) => 'lose' | '500' | 'hang' | 'hold' | null;
  /** Called when a message was posted, before the answer is written (crash tests kill the bot here). */
  onPosted?: (post: { channel: string; ts: string; count: number }) => void;
  /**
   * The history tier of workspaces installed through oauth.v2.access (a distributed app outside the
   * Marketplace): `limited` (the default) allows conversations.history / conversations.replies once a
   * minute per workspace, at most 15 messages a page, 429 + Retry-After otherwise; `tier3` does not limit.
   */
  oauthHistoryTier?: 'limited' | 'tier3';
  /** Workspaces (by team) on the limited history tier although their token was given here, not installed. */
  limitedHistoryTeams?: string[];
  /**
   * Tests only: how much shorter Slack's time runs here (0.01: a minute is 600 ms, a second 10 ms). Scales
   * the per-channel second, the history minute and Retry-After (still whole Slack seconds). The bot must
   * run on the same scale (its `timeScale`). Default 1.
   */
  timeScale?: number;
  /** The app's signing secret: what `sendCommand`, `sendEvent` and `retry` sign their requests with. */
  signingSecret?: string;
}

/** A request the fake sent to the app, as sent (to `retry` or replay it) and how the app answered. */
export interface SentToApp {
  endpoint: string;
  body: string;
  headers: Record<string, string>;
  status: number;
  text: string;
}

interface Block { type: string; text?: { type: string; text: string }; elements?: Array<Record<string, unknown>>; accessory?: Record<string, unknown>; image_url?: string }

const ALLOWED_LINK = /^<(https?:\/\/[^\s|>]+\|[^<>]*|!subteam\^S[A-Z0-9]+|#[CG][A-Z0-9]+)>$/;

/** Block Kit limits (the 2020 OpenAPI spec leaves blocks untyped) and the escaping rules Inkwire promises. */
export function validateBlocks(blocks: unknown): string[] {
  const problems: string[] = [];
  if (!Array.isArray(blocks)) return ['blocks: not an array'];
  if (blocks.length > 50) problems.push(`blocks: ${blocks.length} (limit 50)`);
  if (JSON.stringify(blocks).length > 12_000) problems.push('blocks: over the combined text limit (msg_blocks_too_long)');
  const checkMrkdwn = (where: string, text: string) => {
    for (const match of text.matchAll(/<[^>]*>?/g)) {
      if (!ALLOWED_LINK.test(match[0])) problems.push(`${where}: unescaped "<" in mrkdwn: ${match[0].slice(0, 40)}`);
    }
    if (/&(?!amp;|lt;|gt;)/.test(text)) problems.push(`${where}: unescaped "&" in mrkdwn`);
  };
  (blocks as Block[]).forEach((block, i) => {
    const where = `blocks[${i}] (${block.type})`;
    switch (block.type) {
      case 'header':
        if (block.text?.type !== 'plain_text') problems.push(`${where}: header text must be plain_text`);
        if ((block.text?.text.length ?? 0) > 150) problems.push(`${where}: header text ${block.text?.text.length} characters (limit 150)`);
        if (!block.text?.text) problems.push(`${where}: empty header`);
        break;
      case 'section':
        if (!block.text?.text) problems.push(`${where}: empty section text`);
        if ((block.text?.text.length ?? 0) > 3000) problems.push(`${where}: section text ${block.text?.text.length} characters (limit 3000)`);
        if (block.text?.type === 'mrkdwn') checkMrkdwn(where, block.text.text);
        break;
      case 'context':
        if (!block.elements || block.elements.length === 0 || block.elements.length > 10) problems.push(`${where}: 1-10 elements`);
        for (const e of block.elements ?? []) if (e.type === 'mrkdwn') checkMrkdwn(where, String(e.text));
        break;
      case 'actions':
        if (!block.elements || block.elements.length === 0 || block.elements.length > 25) problems.push(`${where}: 1-25 elements`);
        for (const e of block.elements ?? []) {
          const text = (e.text as { text?: string } | undefined)?.text ?? '';
          if (text.length > 75) problems.push(`${where}: button text ${text.length} characters (limit 75)`);
          if (e.url && !/^https?:\/\//.test(String(e.url))) problems.push(`${where}: button url must be http(s)`);
          if (e.action_id && String(e.action_id).length > 255) problems.push(`${where}: action_id too long`);
        }
        break;
      case 'image':
        if (!block.image_url || !/^https?:\/\//.test(block.image_url)) problems.push(`${where}: image_url must be http(s)`);
        if (!('alt_text' in block)) problems.push(`${where}: image needs alt_text`);
        break;
      case 'divider':
        break;
      default:
        problems.push(`${where}: block type not expected from Inkwire`);
    }
  });
  return problems;
}

/**
 * A fake Slack Web API on 127.0.0.1: real HTTP, form or JSON bodies as the WebClient sends them, bearer
 * tokens checked, required arguments checked (per Slack's Web API spec), Block Kit limits and escaping
 * checked, about one message per second per channel with 429 + integer Retry-After, a response_url
 * receiver, oauth.v2.access, and Socket Mode (apps.connections.open + a WebSocket). Unknown methods are
 * violations.
 */
export async function startFakeSlack(options: FakeSlackOptions) {
  const violations: string[] = [];
  const posts: Array<{ channel: string; ts: string; text: string; blocks: unknown; team: string; metadata: unknown; threadTs?: string }> = [];
  const historyCalls: Array<{ channel: string; oldest: string | null; includeMetadata: boolean; method: 'conversations.history' | 'conversations.replies'; team: string; at: number; limited: boolean; status: 200 | 429; duringRetryAfter: boolean }> = [];
  const scale = options.timeScale ?? 1;
  const second = 1000 * scale;
  const limitedTeams = new Set(options.limitedHistoryTeams ?? []);
  /** Per limited workspace: the last history call allowed, and until when a Retry-After it was told is in force. */
  const historyLanes = new Map<string, { last: number; until: number }>();
  /** Per channel: until when a Retry-After it was told for posts is in force. */
  const postRetryAfter = new Map<string, number>();
  const faults = { lost: 0, errors500: 0, hung: 0, postAttempts: 0, held: 0, heldAbandoned: 0 };
  let releaseHolds: () => void = () => {};
  let holds = new Promise<void>((resolve) => (releaseHolds = resolve));
  const hanging = new Set<ServerResponse>();
  const updates: Array<{ channel: string; ts: string; blocks: unknown }> = [];
  const responses: Array<{ id: string; body: Record<string, unknown> }> = [];
  const joins: string[] = [];
  const counters = { rateLimited: 0, calls: 0, history429: 0, historyDuringRetryAfter: 0, postsDuringRetryAfter: 0 };
  const channelState = new Map(Object.entries(options.channels ?? {}).map(([id, c]) => [id, { ...c }]));
  const lastPost = new Map<string, number[]>();
  let workspaceWindow: number[] = [];
  let tsCounter = 0;
  const sockets = new Set<WebSocket>();
  const socketAcks: Array<Record<string, unknown>> = [];
  const forced429 = new Map<string, number>();

  const server = createServer((req, res) => void handle(req, res));
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', (raw) => socketAcks.push(JSON.parse(String(raw)) as Record<string, unknown>));
    ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'fake', approximate_connection_time: 3600 }, connection_info: { app_id: 'A1' } }));
  }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  /**
   * Posts to the app as Slack does: the body signed with the signing secret and the current timestamp
   * (every attempt signed afresh), and on a retry `X-Slack-Retry-Num` / `X-Slack-Retry-Reason`.
   */
  async function sendToApp(endpoint: string, body: string, contentType: string, retry?: { num: number; reason: string }): Promise<SentToApp> {
    if (!options.signingSecret) throw new Error('startFakeSlack: give signingSecret to send requests to the app');
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': contentType, 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': slackSignature(options.signingSecret, timestamp, body),
      ...(retry ? { 'x-slack-retry-num': String(retry.num), 'x-slack-retry-reason': retry.reason } : {}),
    };
    const res = await fetch(endpoint, { method: 'POST', headers, body });
    return { endpoint, body, headers, status: res.status, text: await res.text() };
  }

  const reply = (res: ServerResponse, body: Record<string, unknown>, status = 200, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

  async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if ((req.headers['content-type'] ?? '').includes('application/json')) return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const params: Record<string, unknown> = Object.fromEntries(new URLSearchParams(raw));
    for (const key of ['blocks', 'attachments', 'metadata']) {
      if (typeof params[key] === 'string') {
        try {
          params[key] = JSON.parse(params[key] as string);
        } catch {
          violations.push(`${key}: not JSON`);
        }
      }
    }
    return params;
  }

  function teamOf(req: IncomingMessage): string | null {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    return Object.entries(options.tokens).find(([, t]) => t === token)?.[0] ?? null;
  }

  function rateLimited(channel: string): number | null {
    const now = Date.now();
    const perChannel = options.perChannelPerSecond ?? 1;
    const recent = (lastPost.get(channel) ?? []).filter((t) => now - t < second);
    workspaceWindow = workspaceWindow.filter((t) => now - t < second);
    if (now < (postRetryAfter.get(channel) ?? 0)) counters.postsDuringRetryAfter++;
    // Slack allows short bursts over 1/s; this fake allows perChannel + 1 in any second, no more.
    if (recent.length >= perChannel + 1) {
      const retryAfter = Math.max(1, Math.ceil((second - (now - recent[0]!)) / second));
      postRetryAfter.set(channel, now + retryAfter * second);
      return retryAfter;
    }
    if (options.workspacePerSecond && workspaceWindow.length >= options.workspacePerSecond) return 1;
    recent.push(now);
    workspaceWindow.push(now);
    lastPost.set(channel, recent);
    return null;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    counters.calls++;
    const url = new URL(req.url ?? '/', origin);
    const body = await readBody(req);
    const respondMatch = /^\/respond\/([\w-]+)$/.exec(url.pathname);
    if (respondMatch) {
      responses.push({ id: respondMatch[1]!, body });
      const problems = body.blocks ? validateBlocks(body.blocks) : [];
      violations.push(...problems.map((p) => `response_url: ${p}`));
      return reply(res, { ok: true });
    }
    const method = url.pathname.replace(/^\/api\//, '');
    if (method === 'oauth.v2.access') {
      const install = options.oauthInstalls?.[String(body.code)];
      if (!install) return reply(res, { ok: false, error: 'invalid_code' });
      options.tokens[install.teamId] = install.botToken;
      if ((options.oauthHistoryTier ?? 'limited') === 'limited') limitedTeams.add(install.teamId);
      return reply(res, {
        ok: true, app_id: 'A1', authed_user: { id: 'U0INSTALLER' }, scope: 'commands,chat:write,users:read,channels:join', token_type: 'bot',
        access_token: install.botToken, bot_user_id: install.botUserId, team: { id: install.teamId, name: `Team ${install.teamId}` }, enterprise: null, is_enterprise_install: false,
      });
    }
    if (method === 'apps.connections.open') {
      if (req.headers.authorization !== `Bearer ${options.appToken}`) return reply(res, { ok: false, error: 'invalid_auth' });
      return reply(res, { ok: true, url: `ws://127.0.0.1:${port}/socket?ticket=t` });
    }
    const team = teamOf(req);
    if (!team) return reply(res, { ok: false, error: 'invalid_auth' });
    switch (method) {
      case 'auth.test':
        return reply(res, { ok: true, url: `https://${team}.slack.com/`, team: `Team ${team}`, user: 'inkwire', team_id: team, user_id: 'UBOT', bot_id: 'BBOT', is_enterprise_install: false });
      case 'users.info': {
        if (!body.user) return reply(res, { ok: false, error: 'user_not_found' });
        const admin = options.admins?.includes(String(body.user)) ?? false;
        return reply(res, { ok: true, user: { id: body.user, team_id: team, is_admin: admin, is_owner: false, is_bot: false, deleted: false } });
      }
      case 'conversations.info': {
        const c = channelState.get(String(body.channel));
        if (!c) return reply(res, { ok: false, error: 'channel_not_found' });
        return reply(res, { ok: true, channel: { id: body.channel, creator: c.creator ?? 'U0CREATOR', is_private: c.private ?? false, is_archived: c.archived ?? false, is_member: c.member ?? true } });
      }
      case 'conversations.open': {
        const user = String(body.users ?? '');
        if (!/^U[A-Z0-9]+$/.test(user)) return reply(res, { ok: false, error: 'user_not_found' });
        return reply(res, { ok: true, channel: { id: `D${user.slice(1)}` } });
      }
      case 'conversations.history':
      case 'conversations.replies': {
        const channel = String(body.channel ?? '');
        const oldest = body.oldest === undefined ? null : String(body.oldest);
        const latest = body.latest === undefined ? null : String(body.latest);
        const inclusive = body.inclusive === true || body.inclusive === 'true';
        const includeMetadata = body.include_all_metadata === true || body.include_all_metadata === 'true';
        const limited = limitedTeams.has(team);
        // The limited tier: one call a minute per workspace (both methods), 429 + Retry-After otherwise.
        const now = Date.now();
        const lane = historyLanes.get(team) ?? { last: Number.NEGATIVE_INFINITY, until: 0 };
        historyLanes.set(team, lane);
        const duringRetryAfter = now < lane.until;
        const call = { channel, oldest, includeMetadata, method, team, at: now, limited, status: 200 as 200 | 429, duringRetryAfter };
        historyCalls.push(call);
        if (duringRetryAfter) counters.historyDuringRetryAfter++;
        if (limited && now - lane.last < 60 * second) {
          const retryAfter = Math.max(1, Math.ceil((lane.last + 60 * second - now) / second));
          lane.until = Math.max(lane.until, now + retryAfter * second);
          call.status = 429;
          counters.history429++;
          return reply(res, { ok: false, error: 'ratelimited' }, 429, { 'retry-after': String(retryAfter) });
        }
        if (limited) lane.last = now;
        if (!channelState.has(channel) && !channel.startsWith('D')) return reply(res, { ok: false, error: 'channel_not_found' });
        const threadTs = method === 'conversations.replies' ? String(body.ts ?? '') : null;
        if (method === 'conversations.replies' && !threadTs) return reply(res, { ok: false, error: 'thread_not_found' });
        const limit = Math.min(limited ? 15 : 1000, Number(body.limit ?? 100));
        const offset = Number(body.cursor ?? 0);
        const inWindow = (ts: string) =>
          (oldest === null || (inclusive ? Number(ts) >= Number(oldest) : Number(ts) > Number(oldest))) &&
          (latest === null || (inclusive ? Number(ts) <= Number(latest) : Number(ts) < Number(latest)));
        const here = (p: { channel: string }) => p.channel === channel || `D${p.channel.slice(1)}` === channel;
        // History: the channel's own messages (not thread replies), newest first. Replies: the parent, then
        // its replies oldest first. Metadata only when asked for.
        const all = threadTs
          ? [...posts.filter((p) => here(p) && p.ts === threadTs), ...posts.filter((p) => here(p) && p.threadTs === threadTs && inWindow(p.ts))]
          : posts.filter((p) => here(p) && p.threadTs === undefined && inWindow(p.ts)).sort((a, b) => Number(b.ts) - Number(a.ts));
        if (threadTs && all.length === 0) return reply(res, { ok: false, error: 'thread_not_found' });
        const page = all.slice(offset, offset + limit);
        const more = offset + limit < all.length;
        return reply(res, {
          ok: true,
          messages: page.map((p) => ({ type: 'message', ts: p.ts, text: p.text, ...(p.threadTs ? { thread_ts: p.threadTs } : {}), ...(includeMetadata && p.metadata ? { metadata: p.metadata } : {}) })),
          has_more: more,
          response_metadata: { next_cursor: more ? String(offset + limit) : '' },
        });
      }
      case 'conversations.join': {
        joins.push(String(body.channel));
        const c = channelState.get(String(body.channel));
        if (!c) return reply(res, { ok: false, error: 'channel_not_found' });
        if (c.private) return reply(res, { ok: false, error: 'method_not_supported_for_channel_type' });
        if (c.archived) return reply(res, { ok: false, error: 'is_archived' });
        c.member = true;
        return reply(res, { ok: true, channel: { id: body.channel } });
      }
      case 'chat.postMessage':
      case 'chat.update': {
        const channel = String(body.channel ?? '');
        if (!channel) return reply(res, { ok: false, error: 'channel_not_found' });
        if (!body.text && !body.blocks) {
          violations.push(`${method}: needs text or blocks`);
          return reply(res, { ok: false, error: 'no_text' });
        }
        if (body.blocks && !body.text) violations.push(`${method}: blocks without a fallback text`);
        if (typeof body.text === 'string' && /<!(channel|here|everyone)|<@U/.test(body.text)) violations.push(`${method}: fallback text would notify: ${body.text.slice(0, 60)}`);
        const problems = body.blocks ? validateBlocks(body.blocks) : [];
        if (problems.length > 0) {
          violations.push(...problems.map((p) => `${method}: ${p}`));
          return reply(res, { ok: false, error: 'invalid_blocks' });
        }
        // A user id opens (or reuses) the direct-message channel with them.
        const c = /^U[A-Z0-9]+$/.test(channel) ? { member: true, archived: false } : channelState.get(channel);
        if (!c) return reply(res, { ok: false, error: 'channel_not_found' });
        if (c.archived) return reply(res, { ok: false, error: 'is_archived' });
        if (c.member === false) return reply(res, { ok: false, error: 'not_in_channel' });
        if (method === 'chat.update') {
          updates.push({ channel, ts: String(body.ts), blocks: body.blocks });
          return reply(res, { ok: true, channel, ts: body.ts, text: body.text });
        }
        const forced = forced429.get(channel) ?? 0;
        if (forced > 0) forced429.set(channel, forced - 1);
        const retryAfter = forced > 0 ? 1 : rateLimited(channel);
        if (retryAfter !== null) {
          counters.rateLimited++;
          return reply(res, { ok: false, error: 'ratelimited' }, 429, { 'retry-after': String(retryAfter) });
        }
        if (body.metadata !== undefined) {
          const m = body.metadata as { event_type?: unknown; event_payload?: unknown };
          if (typeof m !== 'object' || m === null || typeof m.event_type !== 'string' || typeof m.event_payload !== 'object') {
            violations.push(`${method}: metadata must be {event_type, event_payload}`);
            return reply(res, { ok: false, error: 'invalid_metadata_format' });
          }
        }
        const fault = options.fault?.({ channel, count: ++faults.postAttempts, team }) ?? null;
        if (fault === '500') {
          faults.errors500++;
          return res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
        }
        if (fault === 'hold') {
          faults.held++;
          // The client giving up (an abort, its timeout) closes the connection; the request lands anyway.
          res.on('close', () => void (res.writableFinished || faults.heldAbandoned++));
          await holds;
        }
        const ts = `${Math.floor(Date.now() / 1000)}.${String(++tsCounter).padStart(6, '0')}`;
        if (body.thread_ts !== undefined && !posts.some((p) => p.channel === channel && p.ts === String(body.thread_ts))) {
          return reply(res, { ok: false, error: 'thread_not_found' });
        }
        posts.push({ channel, ts, text: String(body.text), blocks: body.blocks, team, metadata: body.metadata, ...(body.thread_ts !== undefined ? { threadTs: String(body.thread_ts) } : {}) });
        options.onPosted?.({ channel, ts, count: posts.length });
        if (fault === 'lose') {
          faults.lost++;
          res.socket?.destroy(); // posted, but the answer never arrives
          return;
        }
        if (fault === 'hang') {
          faults.hung++;
          hanging.add(res);
          return;
        }
        return reply(res, { ok: true, channel, ts, message: { text: body.text, ts } });
      }
      default:
        violations.push(`${method}: unknown method (the fake fails the test)`);
        return reply(res, { ok: false, error: 'unknown_method' });
    }
  }

  return {
    origin,
    apiUrl: `${origin}/api/`,
    violations,
    posts,
    historyCalls,
    faults,
    updates,
    responses,
    joins,
    counters,
    socketAcks,
    channel: (id: string) => channelState.get(id),
    /**
     * Someone else's messages in a channel, `count` of them from `atSeconds` (Slack ts seconds) one
     * millisecond apart: a busy channel, or one that moved on long after a delivery.
     */
    addMessages(channel: string, count: number, atSeconds: number) {
      for (let i = 0; i < count; i++) posts.push({ channel, ts: (atSeconds + i / 1000).toFixed(6), text: `chatter ${i}`, blocks: undefined, team: 'other', metadata: undefined });
    },
    /** Puts a workspace on the limited history tier (as a distributed, non-Marketplace install). */
    limitHistory: (team: string) => void limitedTeams.add(team),
    /** The next `times` posts to this channel get 429 with Retry-After: 1. */
    rateLimitChannel: (id: string, times: number) => void forced429.set(id, times),
    postsIn: (channel: string) => posts.filter((p) => p.channel === channel),
    responseUrl: (id: string) => `${origin}/respond/${id}`,
    /** Sends a Socket Mode envelope to every connected client. */
    sendEnvelope(envelope: Record<string, unknown>) {
      for (const ws of sockets) ws.send(JSON.stringify(envelope));
    },
    socketCount: () => sockets.size,
    /**
     * Sends a slash command to the app's request URL as Slack does (form fields, signed). Slack itself never
     * retries a command; each invocation has its own `trigger_id`.
     */
    sendCommand: (endpoint: string, fields: Record<string, string>) => sendToApp(endpoint, new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded'),
    /** Sends an Events API callback (`{ type: 'event_callback', event_id, event, … }`) to the app as Slack does (JSON, signed). */
    sendEvent: (endpoint: string, callback: Record<string, unknown>) => sendToApp(endpoint, JSON.stringify(callback), 'application/json'),
    /**
     * Slack's retry of an event it thinks was not received (no 2xx within 3 s, or an error): the same body
     * (the same `event_id`), signed afresh, with `X-Slack-Retry-Num: <num>` (1, 2, 3) and its reason.
     */
    retry: (sent: SentToApp, num: number, reason = 'http_timeout') => sendToApp(sent.endpoint, sent.body, sent.headers['content-type']!, { num, reason }),
    /**
     * Sends an Events API callback over Socket Mode, as Slack does: an `events_api` envelope of its own; a
     * retry (`retryAttempt` > 0) is a new envelope with the same payload, its `retry_attempt` and `retry_reason`.
     */
    sendEventEnvelope(callback: Record<string, unknown>, retryAttempt = 0): string {
      const envelopeId = `env-${++tsCounter}`;
      const envelope = { envelope_id: envelopeId, type: 'events_api', payload: callback, accepts_response_payload: false, retry_attempt: retryAttempt, retry_reason: retryAttempt > 0 ? 'timeout' : '' };
      for (const ws of sockets) ws.send(JSON.stringify(envelope));
      return envelopeId;
    },
    /** Lets every request held by the `hold` fault land (posted now; answered if its client is still there). */
    releaseHeld() {
      releaseHolds();
      holds = new Promise<void>((resolve) => (releaseHolds = resolve));
    },
    async close() {
      releaseHolds();
      for (const res of hanging) res.destroy();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type FakeSlack = Awaited<ReturnType<typeof startFakeSlack>>;
