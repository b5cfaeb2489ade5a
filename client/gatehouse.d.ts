// Type declarations for gatehouse.js (hand-written; client/test/types.test.js
// checks that they name exactly what the module exports).

/**
 * Where the refresh token and the device token are kept across restarts:
 * a secure-storage plugin on a device, or a Web Storage object in a browser.
 * Each method may return a promise.
 */
export interface StorageAdapter {
  get(key: string): string | null | undefined | PromiseLike<string | null | undefined>;
  set(key: string, value: string): unknown;
  remove(key: string): unknown;
}

/** The part of the Web Storage API that localStorageAdapter uses. */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface GatehouseOptions {
  /** API root, e.g. 'https://abc.execute-api.eu-west-1.amazonaws.com/api'; default: the page's origin. Required on file:// pages. */
  baseUrl?: string;
  /** Where to keep the refresh token (and the device token) across restarts; default: memory only. */
  storage?: StorageAdapter | null;
  /** The refresh token's key in storage (default 'gatehouse.refresh_token'). */
  storageKey?: string;
  /** The device token's key in storage (default 'gatehouse.device_token'). */
  deviceTokenKey?: string;
  /** A fetch implementation (default: the global one). */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
}

export interface LoginOptions {
  /** A name for this session in the user's session list, e.g. 'Firefox on my laptop'. */
  device?: string;
}

/** `{ username }` or `{ email }`, never both. */
export type ForgotPasswordRequest =
  | { username: string; email?: undefined }
  | { email: string; username?: undefined };

export interface RegisterResult {
  username: string;
}

export type LoginEventDetail = { username: string } | { restored: true };

export interface LogoutEventDetail {
  /** true after logoutEverywhere() and deleteAccount(). */
  everywhere: boolean;
  /** true after deleteAccount(). */
  accountDeleted?: true;
}

export interface GatehouseEventMap {
  login: CustomEvent<LoginEventDetail>;
  refresh: CustomEvent<null>;
  logout: CustomEvent<LogoutEventDetail>;
  /** The server no longer knows the session: show the login form. */
  'session-expired': CustomEvent<null>;
}

/** Stable error codes the API answers with; others may come (code is a string). */
export type GatehouseErrorCode =
  | 'network_error'
  | 'http_error'
  | 'invalid_request'
  | 'invalid_grant'
  | 'invalid_code'
  | 'too_many_attempts'
  | 'username_taken'
  | 'signup_disabled'
  | 'missing_token'
  | 'invalid_token'
  | 'forbidden'
  | 'not_found'
  | 'service_unavailable'
  | 'mfa_required'
  | 'mfa_already_enabled'
  | 'mfa_not_enabled'
  | 'mfa_not_started'
  | 'insufficient_user_authentication';

export interface GatehouseErrorOptions {
  status?: number;
  code?: string;
  retryAfter?: number | null;
}

/** An error answer of the API (`code` is its stable code) or of the token endpoint. */
export class GatehouseError extends Error {
  constructor(message: string, options?: GatehouseErrorOptions);
  /** The HTTP status (0 when there was no answer). */
  status: number;
  code: GatehouseErrorCode | (string & {});
  /** Seconds, from Retry-After on a 429 / 503; null without one. */
  retryAfter: number | null;
}

/**
 * The password was right and the account has a second factor: no tokens yet.
 * Finish with `loginWithOtp(error, code)` or `loginWithRecoveryCode(error, code)` within 5 minutes.
 */
export class MfaRequiredError extends GatehouseError {
  constructor(mfaToken: string, username: string);
  code: 'mfa_required';
  /** Single use; lives 5 minutes. */
  mfaToken: string;
  username: string;
}

/** The answer of startTotp: show the QR code (or the secret), once. */
export interface TotpEnrolment {
  secret: string;
  otpauth_uri: string;
  /** An SVG document of the QR code that holds otpauth_uri. */
  qr_svg: string;
}

export interface SecondFactorOptions {
  /** false: this device must give the second factor at every login (default true). */
  remember?: boolean;
}

export type RemoveTotpRequest = { code: string; recoveryCode?: never } | { recoveryCode: string; code?: never };

/** Whether a 401 says the route needs a login with a second factor (RFC 9470). */
export function isStepUpResponse(response: Response): boolean;

/** Whether a 401 means "this token is no good", the only case worth a refresh (RFC 6750 §3.1). */
export function isInvalidTokenResponse(response: Response): boolean;

/** The GatehouseError for an error response, from either body shape Gatehouse uses. */
export function errorFromResponse(response: Response): Promise<GatehouseError>;

/** A storage adapter over a Web Storage object (default: localStorage, readable by any script on the origin). */
export function localStorageAdapter(storage?: WebStorageLike): StorageAdapter;

export class Gatehouse extends EventTarget {
  constructor(options?: GatehouseOptions);

  /** True once logged in (or restored) until logout or session expiry. */
  get loggedIn(): boolean;

  /**
   * Password login; rejects with a GatehouseError (`invalid_grant`, `too_many_attempts`, ...),
   * or an MfaRequiredError for an account with a second factor.
   */
  login(username: string, password: string, options?: LoginOptions): Promise<void>;
  /** Finish a login with the authenticator app's 6-digit code. */
  loginWithOtp(challenge: MfaRequiredError, otp: string, options?: SecondFactorOptions): Promise<void>;
  /** Finish a login with one of the recovery codes (it is spent). */
  loginWithRecoveryCode(challenge: MfaRequiredError, recoveryCode: string, options?: SecondFactorOptions): Promise<void>;
  /** Begin adding an authenticator app (needs the current password). */
  startTotp(currentPassword: string): Promise<TotpEnrolment>;
  /** Turn it on with its first code; resolves the ten recovery codes, shown only now. */
  confirmTotp(code: string): Promise<string[]>;
  /** Ten new recovery codes for a code from the app. */
  newRecoveryCodes(code: string): Promise<string[]>;
  /** Remove the app with a code from it or a recovery code. */
  removeTotp(request: RemoveTotpRequest): Promise<void>;
  /** With a storage adapter: resume the stored session; false when there is none (valid). */
  restore(): Promise<boolean>;
  /** Like fetch, for paths of the API ('/notes') or URLs under baseUrl, with the bearer token. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** End this session on the server (RFC 7009 revoke) and forget its tokens. */
  logout(): Promise<void>;
  /** End every session of this user, on every device. */
  logoutEverywhere(): Promise<void>;

  /** Sign up (does not log in); with an email, a verification code is mailed. */
  register(username: string, password: string, email?: string): Promise<RegisterResult>;
  /** Confirm the email address with the mailed code. */
  verifyEmail(username: string, code: string): Promise<void>;
  /** Ask for a password-reset code; resolves the same whether or not the account exists. */
  forgotPassword(who: ForgotPasswordRequest): Promise<void>;
  /** Set a new password with the mailed code; the server ends every session of the account. */
  resetPassword(username: string, code: string, newPassword: string): Promise<void>;
  /** Mail a new code to the logged-in account's unverified address; the old code stops working. */
  resendEmailCode(): Promise<void>;
  /** Delete the logged-in account, then forget every token (the device token too). */
  deleteAccount(currentPassword: string): Promise<void>;

  addEventListener<K extends keyof GatehouseEventMap>(
    type: K,
    listener: (this: Gatehouse, event: GatehouseEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof GatehouseEventMap>(
    type: K,
    listener: (this: Gatehouse, event: GatehouseEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}
