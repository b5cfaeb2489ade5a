// An in-memory fake of the Gatehouse API for the unit tests of gatehouse.js
// (not a test file itself: `make test-js` runs client/test/*.test.js).

import { Gatehouse } from '../../gatehouse.js';

// Browsers and Node 19+ have CustomEvent; Debian's Node 18 does not.
globalThis.CustomEvent ??= class CustomEvent extends Event {
  constructor(type, init = {}) {
    super(type, init);
    this.detail = init.detail ?? null;
  }
};

export const BASE = 'https://api.example.test/api';
export const PASSWORD = 'right';
export const MAILED_CODE = 'K7QM-4XPA';
// The second factor: the app's code and a recovery code the fake accepts (once each).
export const OTP = '123456';
export const RECOVERY_CODE = 'ABCD-EFGH-IJKL-MNOP';
export const MFA_TOKEN = 'm'.repeat(43);

/**
 * The token endpoint (rotation, reuse detection, device tokens), revoke, the
 * account routes and a few protected routes.
 */
export class FakeApi {
  constructor({ ttl = 900, deviceTokens = true, secondFactor = false } = {}) {
    this.secondFactor = secondFactor; // the account has a TOTP factor: passwords answer mfa_required
    this.spent = new Set();
    this.ttl = ttl;
    this.deviceTokens = deviceTokens; // false: a server that predates device tokens
    this.calls = [];
    this.access = new Set();
    this.refresh = new Map(); // live refresh token -> session id
    this.sessions = new Set();
    this.issuedDeviceTokens = [];
    this.deleted = false;
    this.emailVerified = false; // true: /auth/email/resend has nothing to verify
    this.resent = 0;
    this.counter = 0;
    this.gate = null; // a promise the token endpoint waits for, to hold refreshes in flight
    this.fetch = this.fetch.bind(this);
  }

  issue(session) {
    const n = ++this.counter;
    const access = `at-${n}`;
    const refresh = `rt-${n}`;
    this.access.add(access);
    this.refresh.set(refresh, session);
    return { access_token: access, token_type: 'Bearer', expires_in: this.ttl, refresh_token: refresh };
  }

  /** What an access token looks like to the server once it has expired. */
  expireAccessTokens() {
    this.access.clear();
  }

  endSessions() {
    this.sessions.clear();
    this.access.clear();
  }

  json(status, body, headers = {}) {
    return new Response(body === null ? null : JSON.stringify(body), {
      status,
      headers: { 'Content-Type': 'application/json', ...headers },
    });
  }

  error(status, code, message) {
    return this.json(status, { error: code, message });
  }

  async fetch(url, init = {}) {
    const { pathname } = new URL(url);
    const path = pathname.replace(/^\/api/, '');
    const method = init.method ?? 'GET';
    const headers = new Headers(init.headers);
    const form = init.body instanceof URLSearchParams ? Object.fromEntries(init.body) : null;
    const isJson = headers.get('Content-Type') === 'application/json' && typeof init.body === 'string';
    const json = isJson ? JSON.parse(init.body) : null;
    this.calls.push({ method, path, authorization: headers.get('Authorization'), form, json, credentials: init.credentials });
    if (path === '/auth/token') {
      if (this.gate) await this.gate;
      const secondStep = form.grant_type.startsWith('urn:gatehouse:grant-type:mfa-');
      if (secondStep) {
        const code = form.otp ?? form.recovery_code;
        const expected = form.grant_type.endsWith('mfa-otp') ? OTP : RECOVERY_CODE;
        if (form.mfa_token !== MFA_TOKEN || code !== expected || this.spent.has(code)) {
          return this.json(400, { error: 'invalid_grant', error_description: 'The code is wrong or was already used.' });
        }
        this.spent.add(code);
      }
      if (form.grant_type === 'password' || secondStep) {
        if (!secondStep && (form.password !== PASSWORD || this.deleted)) {
          return this.json(400, { error: 'invalid_grant', error_description: 'The username or password is wrong.' });
        }
        if (!secondStep && this.secondFactor) {
          return this.json(403, { error: 'mfa_required', mfa_token: MFA_TOKEN }, { 'Cache-Control': 'no-store' });
        }
        const session = `s-${this.counter}`;
        this.sessions.add(session);
        const tokens = this.issue(session);
        if (this.deviceTokens) {
          tokens.device_token = `dt-${this.counter}`;
          this.issuedDeviceTokens.push(tokens.device_token);
        }
        return this.json(200, tokens, { 'Cache-Control': 'no-store' });
      }
      const session = this.refresh.get(form.refresh_token);
      this.refresh.delete(form.refresh_token);
      if (!session || !this.sessions.has(session)) {
        // A second use of a rotated token ends the whole session (reuse detection).
        for (const [token, owner] of this.refresh) if (owner === session) this.refresh.delete(token);
        this.sessions.delete(session);
        return this.json(400, { error: 'invalid_grant', error_description: 'The refresh token is not valid.' });
      }
      return this.json(200, this.issue(session));
    }
    if (path === '/auth/revoke') {
      this.sessions.delete(this.refresh.get(form.token));
      return this.json(200, {});
    }
    if (path === '/auth/register') {
      if (json.username === 'taken') return this.error(409, 'username_taken', 'That username is taken.');
      return this.json(201, { username: json.username });
    }
    if (path === '/auth/email/verify' || path === '/auth/password/reset') {
      if (json.code !== MAILED_CODE) return this.error(400, 'invalid_code', 'The code is wrong or has expired.');
      if (path === '/auth/password/reset') this.endSessions();
      return new Response(null, { status: 204 });
    }
    if (path === '/auth/password/forgot') {
      return this.json(202, {}); // the same for every name and address: no enumeration
    }
    const auth = headers.get('Authorization');
    if (!auth) return this.json(401, { error: 'missing_token' }, { 'WWW-Authenticate': 'Bearer' });
    if (!this.access.has(auth.replace(/^Bearer /, ''))) {
      return this.json(401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    if (path === '/payouts') {
      return this.json(401, { error: 'insufficient_user_authentication' }, {
        'WWW-Authenticate': 'Bearer error="insufficient_user_authentication", error_description="..."',
      });
    }
    if (path === '/auth/mfa/totp') {
      if (json.current_password !== PASSWORD) return this.error(400, 'invalid_request', 'The current password is wrong.');
      return this.json(200, { secret: 'S'.repeat(32), otpauth_uri: 'otpauth://totp/Gatehouse:ann?secret=S', qr_svg: '<svg/>' });
    }
    if (path === '/auth/mfa/totp/confirm' || path === '/auth/mfa/recovery-codes') {
      if (json.code !== OTP) return this.error(400, 'invalid_code', 'The code is wrong or was already used.');
      return this.json(200, { recovery_codes: Array.from({ length: 10 }, (_, i) => `AAAA-BBBB-CCCC-DDD${i % 6 + 2}`) });
    }
    if (path === '/auth/mfa/totp/remove') {
      if (json.code !== OTP && json.recovery_code !== RECOVERY_CODE) {
        return this.error(400, 'invalid_code', 'The code is wrong or was already used.');
      }
      return new Response(null, { status: 204 });
    }
    if (path === '/admin/users') {
      return this.json(403, { error: 'forbidden' }, { 'WWW-Authenticate': 'Bearer error="insufficient_scope"' });
    }
    if (path === '/auth/sessions' && method === 'DELETE') {
      this.endSessions();
      return new Response(null, { status: 204 });
    }
    if (path === '/auth/email/resend' && method === 'POST') {
      if (this.emailVerified) return this.error(409, 'nothing_to_verify', 'This account has no unverified email address.');
      this.resent += 1;
      return new Response(null, { status: 204 });
    }
    if (path === '/auth/account/delete' && method === 'POST') {
      if (json?.current_password !== PASSWORD) return this.error(400, 'invalid_request', 'The current password is wrong.');
      this.deleted = true;
      this.endSessions();
      return new Response(null, { status: 204 });
    }
    return this.json(200, { path, method, body: init.body ?? null });
  }

  tokenCalls(grant) {
    return this.calls.filter((c) => c.path === '/auth/token' && c.form.grant_type === grant);
  }
}

/** Records [name, detail] of each event of these names. */
export function events(target, ...names) {
  const seen = [];
  for (const name of names) target.addEventListener(name, (e) => seen.push([name, e.detail ?? null]));
  return seen;
}

/** An async storage adapter, as Cordova's secure storage would be. */
export function asyncMapStorage() {
  const map = new Map();
  return {
    map,
    get: async (key) => map.get(key) ?? null,
    set: async (key, value) => void map.set(key, value),
    remove: async (key) => void map.delete(key),
  };
}

export async function loggedIn(options = {}) {
  const api = new FakeApi(options);
  const auth = new Gatehouse({ baseUrl: BASE, fetch: api.fetch, ...options });
  await auth.login('demo', PASSWORD, { device: 'test runner' });
  return { api, auth };
}
