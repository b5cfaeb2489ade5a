/**
 * gatehouse.js: a small, dependency-free client for a Gatehouse API, for
 * browsers and Cordova / Capacitor webviews (an ES module; no build step).
 *
 *   import { Gatehouse } from './gatehouse.js';   // or from 'gatehouse-client' (npm)
 *   const auth = new Gatehouse({ baseUrl: 'https://api.example.com/api' });
 *   await auth.login('demo', password, { device: 'Firefox on my laptop' });
 *   const notes = await (await auth.fetch('/notes')).json();
 *
 * Where the tokens live:
 * - the access token (short-lived JWT) only in this object's memory, never in
 *   any storage a script or an extension could read later;
 * - the refresh token in memory too, unless you pass a `storage` adapter
 *   (`{ get(key), set(key, value), remove(key) }`, each may return a promise;
 *   e.g. Cordova's secure storage or the iOS Keychain) to survive restarts.
 *   `localStorage` works as an adapter but any XSS on the page can read it.
 * - the device token (from every password grant) with the refresh token's
 *   storage, under its own key, and it outlives logout: it tells the server
 *   "this device has logged in as this user before", so that someone hammering
 *   the name with wrong passwords elsewhere cannot lock this device out.
 *   It grants nothing by itself: a login still needs the password.
 *
 * `fetch()` adds the bearer token, and on a 401 whose WWW-Authenticate says
 * error="invalid_token" refreshes once and retries once.  Every caller
 * waiting for a refresh shares the same one: refresh tokens are single-use
 * (rotated) and a second use of the old one would look like theft to the
 * server, which then ends the whole session.
 *
 * Accounts, without a session: `register`, `verifyEmail`,
 * `forgotPassword`, `resetPassword`; with one: `deleteAccount`.
 *
 * Second factor: for an account with one, `login` rejects with an
 * `MfaRequiredError`; pass it to `loginWithOtp(challenge, code)` or
 * `loginWithRecoveryCode(challenge, code)` within 5 minutes.  `startTotp`,
 * `confirmTotp`, `newRecoveryCodes` and `removeTotp` manage the factor.  A
 * route that needs a second factor answers 401 with
 * error="insufficient_user_authentication" (`isStepUpResponse`): log in
 * again with the code; a refresh would not help.
 *
 * Events (it is an EventTarget): `login`, `refresh`, `logout` (detail.everywhere,
 * and detail.accountDeleted after deleteAccount), `session-expired` (the server no
 * longer knows the session: show the login form).
 */

const OTP_GRANT = 'urn:gatehouse:grant-type:mfa-otp';
const RECOVERY_CODE_GRANT = 'urn:gatehouse:grant-type:mfa-recovery-code';
const DEFAULT_STORAGE_KEY = 'gatehouse.refresh_token';
const DEFAULT_DEVICE_TOKEN_KEY = 'gatehouse.device_token';
// Renew a little before the server would refuse the token, not after.
const EXPIRY_MARGIN_MS = 5_000;

/** An error answer of the API (`error` is its stable code) or of the token endpoint. */
export class GatehouseError extends Error {
  constructor(message, { status = 0, code = 'network_error', retryAfter = null } = {}) {
    super(message);
    this.name = 'GatehouseError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter; // seconds, from Retry-After on a 429 / 503
  }
}

/**
 * The password was right and the account has a second factor: no tokens yet.
 * Finish with `loginWithOtp(error, code)` or `loginWithRecoveryCode(error, code)`.
 */
export class MfaRequiredError extends GatehouseError {
  constructor(mfaToken, username) {
    super('this account needs its second factor: send a code', { status: 403, code: 'mfa_required' });
    this.name = 'MfaRequiredError';
    this.mfaToken = mfaToken;
    this.username = username;
  }
}

/** Whether a 401 says the route needs a login with a second factor (RFC 9470). */
export function isStepUpResponse(response) {
  const challenge = response.headers.get('WWW-Authenticate') ?? '';
  return response.status === 401 && /\berror="insufficient_user_authentication"/.test(challenge);
}

/** Whether a 401 means "this token is no good", the only case worth a refresh (RFC 6750 §3.1). */
export function isInvalidTokenResponse(response) {
  const challenge = response.headers.get('WWW-Authenticate') ?? '';
  return response.status === 401 && /\berror="invalid_token"/.test(challenge);
}

/** The GatehouseError for an error response, from either body shape Gatehouse uses. */
export async function errorFromResponse(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status alone
  }
  const retry = Number.parseInt(response.headers.get('Retry-After') ?? '', 10);
  return new GatehouseError(body.error_description ?? body.message ?? `HTTP ${response.status}`, {
    status: response.status,
    code: body.error ?? 'http_error',
    retryAfter: Number.isNaN(retry) ? null : retry,
  });
}

export class Gatehouse extends EventTarget {
  #base;
  #storage;
  #storageKey;
  #deviceTokenKey;
  #fetch;
  // Without a storage adapter the device token lives as long as this object.
  #deviceToken = null;
  #accessToken = null;
  #expiresAt = 0;
  #refreshToken = null;
  // The one refresh in flight (a promise of the new access token, or null
  // when the session is gone), shared by everybody who needs it meanwhile.
  #refreshing = null;
  // Bumped by login and logout, so a refresh that finishes after either
  // cannot bring the old session back.
  #generation = 0;

  /**
   * @param {object} [options]
   * @param {string} [options.baseUrl] API root, e.g. 'https://abc.execute-api.eu-west-1.amazonaws.com/api';
   *   default: this page's origin.
   * @param {{get(k:string):any, set(k:string,v:string):any, remove(k:string):any}} [options.storage]
   *   where to keep the refresh token across restarts (default: nowhere, memory only).
   * @param {string} [options.storageKey] the refresh token's key in storage.
   * @param {string} [options.deviceTokenKey] the device token's key in storage.
   * @param {typeof fetch} [options.fetch] a fetch implementation (default: the global one).
   */
  constructor({
    baseUrl = '',
    storage = null,
    storageKey = DEFAULT_STORAGE_KEY,
    deviceTokenKey = DEFAULT_DEVICE_TOKEN_KEY,
    fetch: fetchImpl,
  } = {}) {
    super();
    const page = globalThis.location;
    // A Cordova page on file:// has the opaque origin "null": it must name its API.
    if (!baseUrl && !/^https?:$/.test(page?.protocol)) throw new TypeError('Gatehouse needs a baseUrl here');
    this.#base = new URL(baseUrl || page.origin, page?.href).href.replace(/\/+$/, '');
    this.#storage = storage;
    this.#storageKey = storageKey;
    this.#deviceTokenKey = deviceTokenKey;
    this.#fetch = fetchImpl ?? globalThis.fetch.bind(globalThis);
  }

  /** True once logged in (or restored) until logout or session expiry. */
  get loggedIn() {
    return this.#accessToken !== null || this.#refreshToken !== null;
  }

  /**
   * Password login; throws a GatehouseError (`invalid_grant`, `too_many_attempts`, ...) on failure.
   * Sends the device token of an earlier login, and keeps the one the answer brings.
   */
  async login(username, password, { device } = {}) {
    const form = new URLSearchParams({ grant_type: 'password', username, password });
    if (device) form.set('device', device);
    await this.#grant(form, username);
  }

  /**
   * Finish a login that rejected with an MfaRequiredError, with the authenticator
   * app's 6-digit code.  `remember: false` keeps this device from skipping the
   * second factor next time (a shared computer).
   */
  async loginWithOtp(challenge, otp, { remember = true } = {}) {
    const form = new URLSearchParams({ grant_type: OTP_GRANT, mfa_token: challenge.mfaToken, otp });
    if (!remember) form.set('remember_device', 'false');
    await this.#grant(form, challenge.username);
  }

  /** Finish it with one of the recovery codes instead (the code is spent). */
  async loginWithRecoveryCode(challenge, recoveryCode, { remember = true } = {}) {
    const form = new URLSearchParams({
      grant_type: RECOVERY_CODE_GRANT,
      mfa_token: challenge.mfaToken,
      recovery_code: recoveryCode,
    });
    if (!remember) form.set('remember_device', 'false');
    await this.#grant(form, challenge.username);
  }

  async #grant(form, username) {
    const deviceToken = await this.#currentDeviceToken();
    if (deviceToken) form.set('device_token', deviceToken);
    const generation = ++this.#generation;
    const tokens = await this.#tokenRequest(form, username);
    // Kept even if a logout came in meanwhile: it names the device, not the session.
    await this.#keepDeviceToken(tokens.device_token);
    if (generation !== this.#generation) return; // a logout came in meanwhile
    await this.#keep(tokens);
    this.dispatchEvent(new CustomEvent('login', { detail: { username } }));
  }

  /**
   * With a storage adapter: resume the session it holds (after an app restart).
   * Resolves true when logged in, false when there is nothing (valid) to resume.
   */
  async restore() {
    if (this.#accessToken !== null) return true;
    if (!(await this.#currentRefreshToken())) return false;
    const token = await this.#refresh();
    if (token) this.dispatchEvent(new CustomEvent('login', { detail: { restored: true } }));
    return token !== null;
  }

  /**
   * Like window.fetch, for paths of the API ('/notes') or absolute URLs under
   * baseUrl (anything else is refused: the token must not leak to another
   * server).  The body must be re-sendable (a string, FormData, Blob, ...; not
   * a stream): a refreshed request is sent again.
   */
  async fetch(path, init = {}) {
    const url = this.#url(path);
    let token = await this.#usableAccessToken();
    let response = await this.#send(url, init, token);
    if (isInvalidTokenResponse(response)) {
      const fresh = await this.#tokenNewerThan(token);
      if (fresh) {
        token = fresh;
        response = await this.#send(url, init, token);
      }
    }
    return response;
  }

  /** End this session on the server (RFC 7009 revoke) and forget the tokens. */
  async logout() {
    // A refresh in flight is about to replace the refresh token: revoke the new one.
    await this.#refreshing?.catch(() => null);
    const refreshToken = await this.#currentRefreshToken();
    // Forget first: this device is logged out even if the network is down.
    await this.#forget();
    this.dispatchEvent(new CustomEvent('logout', { detail: { everywhere: false } }));
    if (refreshToken) {
      const response = await this.#post('/auth/revoke', new URLSearchParams({ token: refreshToken }));
      if (!response.ok) throw await errorFromResponse(response);
    }
  }

  /** End every session of this user, on every device ("log out everywhere"). */
  async logoutEverywhere() {
    const response = await this.fetch('/auth/sessions', { method: 'DELETE' });
    // 401: this session had already ended, which is what was asked.
    if (!response.ok && response.status !== 401) throw await errorFromResponse(response);
    await this.#forget();
    this.dispatchEvent(new CustomEvent('logout', { detail: { everywhere: true } }));
  }

  // -- accounts ----------------------------------------------------------------

  /**
   * Sign up (POST /auth/register); resolves with the server's answer (`{ username }`).
   * With an email the server mails a verification code (see verifyEmail).
   * Does not log in: call login() next.
   */
  async register(username, password, email) {
    const body = { username, password };
    if (email) body.email = email;
    const response = await this.#postJson('/auth/register', body);
    return response.json();
  }

  /** Confirm the email address with the code mailed to it (POST /auth/email/verify). */
  async verifyEmail(username, code) {
    await this.#postJson('/auth/email/verify', { username, code });
  }

  /**
   * Ask for a password-reset code, by `{ username }` or by `{ email }`
   * (POST /auth/password/forgot).  The server answers the same whether or not
   * the account exists, so this resolves the same way too: it cannot tell
   * anyone which names or addresses are registered.  This device's token goes
   * along when there is one: for its own account the server then counts the
   * mail against that account's device budget, which strangers asking for
   * codes cannot spend (for any other account it changes nothing).
   */
  async forgotPassword({ username, email } = {}) {
    if ((username === undefined) === (email === undefined)) {
      throw new TypeError('forgotPassword needs { username } or { email }, one of the two');
    }
    const body = username === undefined ? { email } : { username };
    const deviceToken = await this.#currentDeviceToken();
    if (deviceToken) body.device_token = deviceToken;
    await this.#postJson('/auth/password/forgot', body);
  }

  /**
   * Set a new password with the mailed code (POST /auth/password/reset); the
   * server ends every session of the account.  A wrong, used or expired code
   * is a GatehouseError with code `invalid_code`.
   */
  async resetPassword(username, code, newPassword) {
    await this.#postJson('/auth/password/reset', { username, code, new_password: newPassword });
  }

  /**
   * Mail a new verification code to the logged-in account's unverified
   * address (POST /auth/email/resend, bearer); the previous code stops
   * working.  Rejects with code `nothing_to_verify` when the account has no
   * address waiting for verification.
   */
  async resendEmailCode() {
    const response = await this.fetch('/auth/email/resend', { method: 'POST', cache: 'no-store' });
    if (!response.ok) throw await errorFromResponse(response);
  }

  /**
   * Delete the logged-in account for good (POST /auth/account/delete, bearer).
   * Then forgets every token, the device token included (the server deleted
   * it with the account), and fires `logout` with detail.accountDeleted.
   * A wrong password rejects with a GatehouseError and changes nothing.
   */
  async deleteAccount(currentPassword) {
    const response = await this.fetch('/auth/account/delete', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ current_password: currentPassword }),
      cache: 'no-store',
    });
    if (!response.ok) throw await errorFromResponse(response);
    await this.#forget();
    await this.#forgetDeviceToken();
    this.dispatchEvent(new CustomEvent('logout', { detail: { everywhere: true, accountDeleted: true } }));
  }

  // -- the second factor ---------------------------------------------------------

  /** Begin adding an authenticator app: resolves `{ secret, otpauth_uri, qr_svg }` (shown once). */
  async startTotp(currentPassword) {
    return (await this.#postBearer('/auth/mfa/totp', { current_password: currentPassword })).json();
  }

  /** Turn it on with its first code: resolves the ten recovery codes (shown only now). */
  async confirmTotp(code) {
    return (await (await this.#postBearer('/auth/mfa/totp/confirm', { code })).json()).recovery_codes;
  }

  /** Ten new recovery codes for a code from the app; the old ones stop working. */
  async newRecoveryCodes(code) {
    return (await (await this.#postBearer('/auth/mfa/recovery-codes', { code })).json()).recovery_codes;
  }

  /** Remove the app with `{ code }` or `{ recoveryCode }` (exactly one). */
  async removeTotp({ code, recoveryCode } = {}) {
    if ((code === undefined) === (recoveryCode === undefined)) {
      throw new TypeError('removeTotp needs { code } or { recoveryCode }, one of the two');
    }
    await this.#postBearer('/auth/mfa/totp/remove', code === undefined ? { recovery_code: recoveryCode } : { code });
  }

  // -- internals ---------------------------------------------------------------

  #url(path) {
    if (typeof path !== 'string') throw new TypeError('path must be a string');
    if (path.startsWith('/') && !path.startsWith('//')) return this.#base + path;
    if (path === this.#base || path.startsWith(`${this.#base}/`)) return path;
    throw new TypeError(`Gatehouse.fetch only sends the token to ${this.#base}, not to ${path}`);
  }

  #send(url, init, token) {
    const headers = new Headers(init.headers);
    if (token) headers.set('Authorization', `Bearer ${token}`);
    // Bearer tokens only: no cookies, so no CSRF and no credentialed CORS.
    return this.#fetch(url, { ...init, headers, credentials: 'omit' });
  }

  #post(path, form) {
    return this.#fetch(this.#base + path, {
      method: 'POST',
      body: form, // form-encoded: a "simple" request, no CORS preflight
      credentials: 'omit',
      cache: 'no-store',
    });
  }

  /** A JSON POST without a token; resolves with the response when it is a 2xx. */
  async #postJson(path, body) {
    const response = await this.#fetch(this.#base + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }

  async #tokenRequest(form, username) {
    const response = await this.#post('/auth/token', form);
    if (response.status === 403) {
      const body = await response.clone().json().catch(() => ({}));
      if (body.error === 'mfa_required' && typeof body.mfa_token === 'string') {
        throw new MfaRequiredError(body.mfa_token, username);
      }
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response.json();
  }

  /** A JSON POST with the bearer token; resolves with the response when it is a 2xx. */
  async #postBearer(path, body) {
    const response = await this.fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      cache: 'no-store',
    });
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }

  /** The access token to send now: refreshed first when it has expired by our clock. */
  async #usableAccessToken() {
    if (this.#refreshing) return this.#refreshing;
    if (this.#accessToken && Date.now() < this.#expiresAt - EXPIRY_MARGIN_MS) return this.#accessToken;
    if (await this.#currentRefreshToken()) return this.#refresh();
    return this.#accessToken;
  }

  /** After a 401 for `used`: a token someone already got meanwhile, or a refresh (shared). */
  #tokenNewerThan(used) {
    if (this.#refreshing) return this.#refreshing;
    if (this.#accessToken && this.#accessToken !== used) return Promise.resolve(this.#accessToken);
    return this.#refresh();
  }

  #refresh() {
    // Set synchronously, before any await: a second caller in the same tick
    // already finds this promise and waits for it instead of refreshing too.
    this.#refreshing ??= this.#runRefresh().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #runRefresh() {
    const generation = this.#generation;
    const refreshToken = await this.#currentRefreshToken();
    if (!refreshToken) return null;
    let tokens;
    try {
      tokens = await this.#tokenRequest(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }));
    } catch (error) {
      if (error.code !== 'invalid_grant') throw error; // offline, 5xx, 429: the session may be fine
      if (generation === this.#generation) {
        // Ended (logout elsewhere, expiry, reuse detection): nothing left to try.
        await this.#forget();
        this.dispatchEvent(new CustomEvent('session-expired'));
      }
      return null;
    }
    if (generation !== this.#generation) return null; // logged out (or in again) meanwhile
    await this.#keep(tokens);
    this.dispatchEvent(new CustomEvent('refresh'));
    return this.#accessToken;
  }

  async #currentRefreshToken() {
    // With storage, storage is the truth: another tab or a restart may have rotated it.
    if (this.#storage) this.#refreshToken = (await this.#storage.get(this.#storageKey)) ?? null;
    return this.#refreshToken;
  }

  async #keep({ access_token: access, expires_in: expiresIn, refresh_token: refresh }) {
    this.#accessToken = access;
    this.#expiresAt = Date.now() + expiresIn * 1000;
    this.#refreshToken = refresh;
    if (this.#storage) await this.#storage.set(this.#storageKey, refresh);
  }

  async #currentDeviceToken() {
    if (this.#storage) this.#deviceToken = (await this.#storage.get(this.#deviceTokenKey)) ?? null;
    return this.#deviceToken;
  }

  async #keepDeviceToken(token) {
    if (typeof token !== 'string' || token === '') return; // a server without device tokens
    this.#deviceToken = token;
    if (this.#storage) await this.#storage.set(this.#deviceTokenKey, token);
  }

  async #forgetDeviceToken() {
    this.#deviceToken = null;
    if (this.#storage) await this.#storage.remove(this.#deviceTokenKey);
  }

  /** Forget the session (not the device token: it outlives logout on purpose). */
  async #forget() {
    this.#generation += 1;
    this.#accessToken = null;
    this.#expiresAt = 0;
    this.#refreshToken = null;
    if (this.#storage) await this.#storage.remove(this.#storageKey);
  }
}

/** A storage adapter over window.localStorage (survives reloads; readable by any script on the origin). */
export function localStorageAdapter(storage = globalThis.localStorage) {
  return {
    get: (key) => storage.getItem(key),
    set: (key, value) => storage.setItem(key, value),
    remove: (key) => storage.removeItem(key),
  };
}
