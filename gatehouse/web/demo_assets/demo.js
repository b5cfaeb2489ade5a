// The demo page: sign up, log in, watch the access token run down and get renewed,
// verify an email address (and ask for a new code), notes, sessions, password reset,
// account deletion; every request goes through gatehouse.js.
// Text from the server is only ever set with textContent, never parsed as HTML, and
// the page's CSP allows no inline script: a note cannot become code.

import { Gatehouse, GatehouseError, MfaRequiredError, errorFromResponse } from './gatehouse.js';

const $ = (id) => document.getElementById(id);

// gatehouse.js renews the access token this long before it runs out (its EXPIRY_MARGIN_MS).
const RENEW_MARGIN_S = 5;

// Test hook (this dev page only): the next `count` authenticated requests carry a
// token the server refuses, as an expired access token would be.
let tokensToBreak = 0;

// What the page knows about the current access token, read from the token
// endpoint's answers as they pass: its lifetime and claims, never the token itself.
let token = null;
let refreshes = 0;
// Whether a password grant here has returned a device token (it outlives a logout).
let deviceToken = false;
// The login waiting for its second factor (an MfaRequiredError), and whether the
// signed-in account has a factor (from the token's aal, or an enrolment in this tab).
let mfaChallenge = null;
let hasFactor = false;

function pathOf(url) {
  return new URL(String(url), window.location.href).pathname;
}

async function demoFetch(url, init) {
  let sent = init;
  if (tokensToBreak > 0 && init.headers instanceof Headers && init.headers.has('Authorization')) {
    tokensToBreak -= 1;
    const headers = new Headers(init.headers);
    headers.set('Authorization', 'Bearer not.a.valid-token');
    sent = { ...init, headers };
  }
  const response = await fetch(url, sent);
  if (response.ok && pathOf(url) === '/auth/token') {
    noteTokens(await response.clone().json());
  }
  return response;
}

const client = new Gatehouse({ fetch: demoFetch });
window.gatehouseDemo = { client, breakAccessToken: (count = 1) => { tokensToBreak = count; } };

// -- account calls -----------------------------------------------------------
// Every one goes through gatehouse.js (the copy served here is the client's own file), never a
// bare fetch: it sends this tab's device token with a forgotten-password request, so the reset
// mail counts against the account's own budget, which strangers asking for codes cannot spend.

const account = {
  register: (username, password, email) => client.register(username, password, email),

  /** `who` is `{ username }` or `{ email }`. */
  forgotPassword: (who) => client.forgotPassword(who),

  resetPassword: (username, code, newPassword) => client.resetPassword(username, code, newPassword),

  deleteAccount: async (currentPassword) => {
    await client.deleteAccount(currentPassword);
    // The server has ended every session; make sure this tab forgets its tokens too.
    if (client.loggedIn) await client.logout().catch(() => null);
  },
};

// -- messages and events -----------------------------------------------------

const clock = (date) => date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/** A time of today as its clock time; an older one with its date too. */
function moment(date) {
  if (date.toDateString() === new Date().toDateString()) return clock(date);
  return `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${clock(date)}`;
}

/** kind: 'ok', 'fail' or 'info' (the colour of the entry). */
function logEvent(text, kind = 'info') {
  const item = document.createElement('li');
  item.className = `event ${kind}`;
  const time = document.createElement('time');
  time.textContent = clock(new Date());
  const what = document.createElement('span');
  what.textContent = text;
  item.append(time, what);
  $('events').prepend(item);
}

// A lockout's wait, counted down on the page: { until } in Date.now() milliseconds.
let lockout = null;

function waitSentence(seconds) {
  return `Too many failed attempts. Try again in ${seconds} s.`;
}

/** One sentence for the person in front of the page. */
function describe(error) {
  if (!(error instanceof GatehouseError)) {
    console.error(error);
    return 'The API could not be reached. Is the server running?';
  }
  if (error.code === 'too_many_attempts') {
    return error.retryAfter ? waitSentence(error.retryAfter) : 'Too many failed attempts. Try again later.';
  }
  return error.message;
}

function showAuthError(error) {
  if (error instanceof GatehouseError && error.code === 'too_many_attempts' && error.retryAfter) {
    lockout = { until: Date.now() + error.retryAfter * 1000 };
  }
  $('login-error').textContent = describe(error);
}

/** A new action starts: whatever the last one said is stale now. */
function clearMessages() {
  lockout = null;
  $('login-notice').textContent = '';
  $('login-error').textContent = '';
  $('app-error').textContent = '';
  $('delete-error').textContent = '';
}

// -- the access token card ---------------------------------------------------

function decodeClaims(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
  } catch {
    return {};
  }
}

function noteTokens({ access_token: access, expires_in: lifetime, device_token: device }) {
  const claims = decodeClaims(access);
  if (device && !deviceToken) {
    deviceToken = true;
    logEvent('This browser got a device token: its failed logins no longer count against the account name');
  }
  for (const row of document.querySelectorAll('.device-token')) row.hidden = !deviceToken;
  token = { expiresAt: Date.now() + lifetime * 1000, lifetime, claims };
  $('token-expires').textContent = clock(new Date(token.expiresAt));
  $('token-session').textContent = claims.sid ?? '';
  $('token-roles').textContent = Array.isArray(claims.roles) ? claims.roles.join(', ') : '';
  $('token-aal').textContent = claims.aal === 2 ? `with a second factor (${(claims.amr ?? []).join(', ')})` : 'password only';
  if (claims.aal === 2) hasFactor = true;
  tick();
}

function showTokenState() {
  const remaining = $('token-remaining');
  const meter = $('token-meter');
  if (!token) {
    remaining.textContent = '–';
    remaining.dataset.state = '';
    meter.value = 0;
    return;
  }
  const left = Math.max(0, Math.ceil((token.expiresAt - Date.now()) / 1000));
  meter.value = left / token.lifetime;
  if (left === 0) {
    remaining.textContent = 'Expired: the next request renews it';
    remaining.dataset.state = 'expired';
  } else {
    remaining.textContent = `${left} s left`;
    remaining.dataset.state = left <= RENEW_MARGIN_S ? 'due' : 'fresh';
  }
}

function showLockoutWait() {
  if (!lockout) return;
  const left = Math.ceil((lockout.until - Date.now()) / 1000);
  if (left > 0) {
    $('login-error').textContent = waitSentence(left);
  } else {
    lockout = null;
    $('login-error').textContent = '';
    $('login-notice').textContent = 'You can try again now.';
  }
}

function tick() {
  showTokenState();
  showLockoutWait();
}

// -- page states -------------------------------------------------------------

const TABS = {
  login: ['login-form'],
  mfa: ['mfa-form'],
  signup: ['signup-form'],
  forgot: ['forgot-form'],
  reset: ['reset-form'],
};

function showTab(name) {
  const tab = { reset: 'forgot', mfa: 'login' }[name] ?? name;
  for (const button of document.querySelectorAll('.tab')) {
    button.setAttribute('aria-selected', String(button.id === `tab-${tab}`));
  }
  const visible = new Set(TABS[name]);
  for (const id of Object.values(TABS).flat()) $(id).hidden = !visible.has(id);
}

function showLogin(notice = '') {
  token = null;
  showTokenState();
  $('status').textContent = 'Logged out';
  $('status').dataset.state = 'out';
  $('app-section').hidden = true;
  $('login-section').hidden = false;
  showTab('login');
  $('login-notice').textContent = notice;
  $('password').value = '';
  $('delete-password').value = '';
  $('email-password').value = '';
  $('email-code').value = '';
  $('email-notice').textContent = '';
  $('email-error').textContent = '';
  $('delete-form').hidden = true;
  $('delete-start').hidden = false;
  $('notes').replaceChildren();
  $('sessions').replaceChildren();
  mfaChallenge = null;
  hasFactor = false;
  $('activity').replaceChildren();
}

function showApp(username) {
  clearMessages();
  $('whoami').textContent = username;
  $('status').textContent = `Logged in as ${username}`;
  $('status').dataset.state = 'in';
  $('login-section').hidden = true;
  $('app-section').hidden = false;
  $('token-refreshes').textContent = String(refreshes);
  showFactor();
}

/** JSON from the API; null when the session is gone (the session-expired handler shows the login form). */
async function api(path, init = {}) {
  const response = await client.fetch(path, init);
  if (response.status === 401) return null;
  if (!response.ok) throw await errorFromResponse(response);
  return response.status === 204 ? {} : response.json();
}

function jsonBody(method, value) {
  return { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) };
}

async function guarded(action) {
  $('app-error').textContent = '';
  try {
    await action();
  } catch (error) {
    $('app-error').textContent = describe(error);
  }
}

/** Run a form's action with its submit button disabled meanwhile. */
async function busy(button, action) {
  button.disabled = true;
  try {
    await action();
  } finally {
    button.disabled = false;
  }
}

// -- notes -------------------------------------------------------------------

// The notes API is this repository's example app: an app without it (404) shows no notes card.
async function loadNotes() {
  const response = await client.fetch('/notes');
  if (response.status === 404) {
    $('notes-card').hidden = true;
    return;
  }
  if (response.status === 401) return;
  if (!response.ok) throw await errorFromResponse(response);
  const notes = await response.json();
  const items = notes.map((note) => {
    const item = document.createElement('li');
    item.dataset.noteId = note.id;
    const text = document.createElement('span');
    text.className = 'note-text';
    text.textContent = note.text;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'delete-note small';
    remove.textContent = 'Delete';
    remove.addEventListener('click', () => guarded(async () => {
      if (await api(`/notes/${encodeURIComponent(note.id)}`, { method: 'DELETE' })) await loadNotes();
    }));
    item.append(text, remove);
    return item;
  });
  $('notes').replaceChildren(...items);
  $('no-notes').hidden = items.length > 0;
}

// -- sessions ----------------------------------------------------------------

function sessionRow(session) {
  const device = session.device || '(unnamed device)';
  const item = document.createElement('li');
  item.dataset.sessionId = session.id;
  item.dataset.device = session.device;
  const main = document.createElement('div');
  const label = document.createElement('span');
  label.className = session.current ? 'session-label current' : 'session-label';
  label.textContent = device;
  main.append(label);
  if (session.current) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = 'this device';
    main.append(' ', badge);
  }
  const when = document.createElement('div');
  when.className = 'hint';
  const since = moment(new Date(session.created_at * 1000));
  when.textContent = session.last_used_at
    ? `logged in ${since}, last used ${moment(new Date(session.last_used_at * 1000))}`
    : `logged in ${since}`;
  main.append(when);

  const end = document.createElement('button');
  end.type = 'button';
  end.className = 'end-session small';
  end.textContent = session.current ? 'Log out' : 'End';
  end.addEventListener('click', () => guarded(async () => {
    if (session.current) {
      await client.logout();
    } else if (await api(`/auth/sessions/${encodeURIComponent(session.id)}`, { method: 'DELETE' })) {
      logEvent(`Ended the session of ${device}`, 'ok');
      await loadSessions();
    }
  }));
  item.append(main, end);
  return item;
}

async function loadSessions() {
  const sessions = await api('/auth/sessions');
  if (sessions === null) return;
  $('sessions').replaceChildren(...sessions.map(sessionRow));
}

// -- email address -------------------------------------------------------------

/** Show the account's address and whether it waits for its code (from GET /me). */
async function loadEmail() {
  const me = await api('/me');
  if (me === null) return;
  const waiting = Boolean(me.email) && !me.email_verified;
  let said = 'No email address yet: add one to be able to reset a forgotten password.';
  if (me.email) said = me.email_verified ? `${me.email}, verified.` : `${me.email}, not verified yet: enter the code mailed to it.`;
  $('email-state').textContent = said;
  $('email-verify-form').hidden = !waiting;
  $('email-resend-row').hidden = !waiting;
}

async function emailAction(button, action) {
  $('email-notice').textContent = '';
  $('email-error').textContent = '';
  await busy(button, async () => {
    try {
      await action();
    } catch (error) {
      $('email-error').textContent = describe(error);
      logEvent(`Email: ${describe(error)}`, 'fail');
    }
  });
}

$('email-verify-form').addEventListener('submit', (event) => {
  event.preventDefault();
  emailAction($('email-verify-button'), async () => {
    await client.verifyEmail($('whoami').textContent, $('email-code').value.trim());
    $('email-code').value = '';
    logEvent('Email address verified', 'ok');
    $('email-notice').textContent = 'Verified. A forgotten password can now be reset by mail.';
    await loadEmail();
  });
});
$('email-resend').addEventListener('click', () => emailAction($('email-resend'), async () => {
  await client.resendEmailCode();
  logEvent('A new verification code was mailed; the previous one no longer works', 'ok');
  $('email-notice').textContent = 'A new code is on its way; the previous one no longer works.';
}));
$('email-change-form').addEventListener('submit', (event) => {
  event.preventDefault();
  emailAction($('email-change-button'), async () => {
    const email = $('email-new').value.trim();
    const body = { current_password: $('email-password').value, email };
    if (await api('/auth/email', jsonBody('POST', body))) {
      $('email-new').value = '';
      $('email-password').value = '';
      logEvent(`Email address set to ${email}; a verification code was mailed to it`, 'ok');
      $('email-notice').textContent = 'A code is on its way to the new address.';
      await loadEmail();
    }
  });
});

// -- recent activity (the server's security events) --------------------------

const ACTIVITY_PAGE = 10;
const ACTIVITY_WORDS = {
  login_succeeded: 'Signed in',
  login_failed: 'Wrong password',
  locked_out: 'Locked out after wrong passwords',
  refresh_reuse: 'A used refresh token came back: session ended',
  session_ended: 'Session ended',
  password_changed: 'Password changed',
  password_reset: 'Password reset by mailed code',
  email_changed: 'Email address changed',
  email_verified: 'Email address confirmed',
  factor_added: 'Second factor added',
  factor_removed: 'Second factor removed',
  recovery_code_used: 'Recovery code used',
  recovery_codes_replaced: 'New recovery codes made',
  account_disabled: 'Disabled by an administrator',
  account_enabled: 'Enabled by an administrator',
  account_unlocked: 'Unlocked by an administrator',
  roles_changed: 'Roles changed',
};

function activityRow(event) {
  const item = document.createElement('li');
  item.dataset.kind = event.kind;
  const main = document.createElement('div');
  const label = document.createElement('span');
  label.className = 'activity-kind';
  label.textContent = ACTIVITY_WORDS[event.kind] ?? event.kind;
  main.append(label);
  const where = document.createElement('div');
  where.className = 'hint';
  const from = [event.device && `"${event.device}"`, event.user_agent, event.source_ip && `from ${event.source_ip}`]
    .filter(Boolean).join(' ');
  const by = event.actor ? ` by ${event.actor}` : '';
  where.textContent = `${moment(new Date(event.at * 1000))}${by}${from ? ` · ${from}` : ''}`;
  main.append(where);
  item.append(main);
  return item;
}

async function loadActivity() {
  const response = await client.fetch(`/auth/events?limit=${ACTIVITY_PAGE}`);
  if (response.status === 401) return;
  if (!response.ok) throw await errorFromResponse(response);
  const events = await response.json();
  $('activity').replaceChildren(...events.map(activityRow));
  $('more-activity').hidden = !response.headers.get('Link');
}

// -- client events -----------------------------------------------------------

// What the login form says after the next logout (account deletion says more than "logged out").
let farewell = null;

client.addEventListener('login', (event) => guarded(async () => {
  refreshes = 0;
  const me = await api('/me');
  if (me === null) return;
  logEvent(`Logged in as ${me.username ?? event.detail.username}`, 'ok');
  showApp(me.username);
  await Promise.all([loadNotes(), loadSessions(), loadEmail(), loadActivity()]);
}));
client.addEventListener('refresh', () => {
  refreshes += 1;
  $('token-refreshes').textContent = String(refreshes);
  const lifetime = token ? ` (valid ${token.lifetime} s)` : '';
  logEvent(`Access token refreshed silently${lifetime}`, 'ok');
});
client.addEventListener('logout', (event) => {
  if (farewell) {
    showLogin(farewell);
    farewell = null;
    return;
  }
  logEvent(event.detail.everywhere ? 'Logged out everywhere' : 'Logged out');
  showLogin('You are logged out.');
});
client.addEventListener('session-expired', () => {
  logEvent('Session ended by the server', 'fail');
  showLogin('Your session has ended. Please log in again.');
});

// -- forms and buttons -------------------------------------------------------

for (const name of ['login', 'signup', 'forgot']) {
  $(`tab-${name}`).addEventListener('click', () => {
    clearMessages();
    showTab(name);
  });
}

function deviceName() {
  return $('device').value.trim();
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  clearMessages();
  const username = $('username').value.trim();
  busy($('login-button'), async () => {
    try {
      await client.login(username, $('password').value, { device: deviceName() });
    } catch (error) {
      if (error instanceof MfaRequiredError) {
        askSecondFactor(error);
        logEvent(`Password right for ${username}: the account asks for its second factor`);
        return;
      }
      showAuthError(error);
      const refused = error instanceof GatehouseError && error.code === 'too_many_attempts';
      logEvent(`${refused ? 'Login refused' : 'Failed login'} for ${username}: ${describe(error)}`, 'fail');
    }
  });
});

// -- the second factor ---------------------------------------------------------

function askSecondFactor(challenge) {
  mfaChallenge = challenge;
  $('password').value = '';
  useRecoveryCode(false);
  showTab('mfa');
  $('mfa-code').focus();
}

function useRecoveryCode(on) {
  $('mfa-code-label').hidden = on;
  $('mfa-recovery-label').hidden = !on;
  $('mfa-use-recovery').textContent = on ? 'Use the app\'s code instead' : 'Use a recovery code instead';
}

$('mfa-use-recovery').addEventListener('click', () => {
  useRecoveryCode($('mfa-recovery-label').hidden);
  ($('mfa-recovery-label').hidden ? $('mfa-code') : $('mfa-recovery')).focus();
});
$('mfa-cancel').addEventListener('click', () => {
  mfaChallenge = null;
  clearMessages();
  showTab('login');
});

$('mfa-form').addEventListener('submit', (event) => {
  event.preventDefault();
  clearMessages();
  const challenge = mfaChallenge;
  if (!challenge) return;
  const recovery = !$('mfa-recovery-label').hidden;
  const options = { remember: $('mfa-remember').checked };
  busy($('mfa-button'), async () => {
    try {
      if (recovery) await client.loginWithRecoveryCode(challenge, $('mfa-recovery').value.trim(), options);
      else await client.loginWithOtp(challenge, $('mfa-code').value.trim(), options);
    } catch (error) {
      showAuthError(error);
      logEvent(`Second factor refused for ${challenge.username}: ${describe(error)}`, 'fail');
      if (error instanceof GatehouseError && error.message.includes('mfa_token')) showTab('login');
      return;
    }
    logEvent(`Logged in with ${recovery ? 'a recovery code (it is spent now)' : 'the authenticator app\'s code'}`, 'ok');
    $('mfa-code').value = '';
    $('mfa-recovery').value = '';
    mfaChallenge = null;
  });
});

function showFactor() {
  $('mfa-state').textContent = hasFactor
    ? 'On: logins ask for a code from your authenticator app.'
    : 'Off: a password alone signs in.';
  $('mfa-start').hidden = hasFactor;
  $('mfa-remove-form').hidden = !hasFactor;
  $('mfa-new-codes-form').hidden = !hasFactor;
  $('mfa-enrol-form').hidden = true;
  $('mfa-setup').hidden = true;
}

function showQr(svgText) {
  // Parsed as SVG and adopted as nodes: the page's CSP allows no data: images and no inline script.
  const svg = new DOMParser().parseFromString(svgText, 'image/svg+xml').documentElement;
  $('mfa-qr').replaceChildren(document.importNode(svg, true));
}

$('mfa-start').addEventListener('click', () => {
  $('mfa-error').textContent = '';
  $('mfa-start').hidden = true;
  $('mfa-enrol-form').hidden = false;
  $('mfa-password').focus();
});

$('mfa-enrol-form').addEventListener('submit', (event) => {
  event.preventDefault();
  $('mfa-error').textContent = '';
  busy($('mfa-enrol-button'), async () => {
    let enrolment;
    try {
      enrolment = await client.startTotp($('mfa-password').value);
    } catch (error) {
      $('mfa-error').textContent = describe(error);
      return;
    }
    $('mfa-password').value = '';
    $('mfa-enrol-form').hidden = true;
    showQr(enrolment.qr_svg);
    $('mfa-secret').textContent = enrolment.secret;
    $('mfa-setup').hidden = false;
    $('mfa-confirm-code').focus();
    logEvent('Scan the QR code, then confirm with a code: the factor is not on yet');
  });
});

$('mfa-confirm-form').addEventListener('submit', (event) => {
  event.preventDefault();
  $('mfa-error').textContent = '';
  busy($('mfa-confirm-button'), async () => {
    let codes;
    try {
      codes = await client.confirmTotp($('mfa-confirm-code').value.trim());
    } catch (error) {
      $('mfa-error').textContent = describe(error);
      return;
    }
    hasFactor = true;
    $('mfa-confirm-code').value = '';
    $('mfa-secret').textContent = '';
    $('mfa-qr').replaceChildren();
    showFactor();
    showRecoveryCodes(codes);
    logEvent('Second factor on; every other session has ended', 'ok');
    await Promise.all([loadSessions(), loadActivity()]);
  });
});

// Shown once, until the user says they saved them; nothing else on the page keeps them.
function showRecoveryCodes(codes) {
  $('mfa-remove-form').hidden = true;
  $('mfa-new-codes-form').hidden = true;
  $('mfa-recovery-codes').replaceChildren(...codes.map((code) => {
    const item = document.createElement('li');
    item.textContent = code;
    return item;
  }));
  $('mfa-codes').hidden = false;
}

$('mfa-new-codes-form').addEventListener('submit', (event) => {
  event.preventDefault();
  $('mfa-error').textContent = '';
  busy($('mfa-new-codes-button'), async () => {
    let codes;
    try {
      codes = await client.newRecoveryCodes($('mfa-new-codes-code').value.trim());
    } catch (error) {
      $('mfa-error').textContent = describe(error);
      return;
    }
    $('mfa-new-codes-code').value = '';
    showRecoveryCodes(codes);
    logEvent('New recovery codes made: the old ones no longer work', 'ok');
    await loadActivity();
  });
});

$('mfa-codes-done').addEventListener('click', () => {
  $('mfa-recovery-codes').replaceChildren();
  $('mfa-codes').hidden = true;
  showFactor();
});

$('mfa-remove-form').addEventListener('submit', (event) => {
  event.preventDefault();
  $('mfa-error').textContent = '';
  const given = $('mfa-remove-code').value.trim();
  const request = /^[0-9 ]+$/.test(given) ? { code: given } : { recoveryCode: given };
  busy($('mfa-remove-button'), async () => {
    try {
      await client.removeTotp(request);
    } catch (error) {
      $('mfa-error').textContent = describe(error);
      return;
    }
    hasFactor = false;
    $('mfa-remove-code').value = '';
    showFactor();
    logEvent('Second factor removed; every other session has ended', 'ok');
    await Promise.all([loadSessions(), loadActivity()]);
  });
});

$('signup-form').addEventListener('submit', (event) => {
  event.preventDefault();
  clearMessages();
  const username = $('signup-username').value.trim();
  const password = $('signup-password').value;
  const email = $('signup-email').value.trim();
  busy($('signup-button'), async () => {
    try {
      await account.register(username, password, email || undefined);
    } catch (error) {
      showAuthError(error);
      logEvent(`Sign-up failed for ${username}: ${describe(error)}`, 'fail');
      return;
    }
    logEvent(`Signed up as ${username}${email ? `, a verification code was mailed to ${email}` : ''}`, 'ok');
    $('signup-password').value = '';
    $('username').value = username;
    try {
      await client.login(username, password, { device: deviceName() });
    } catch (error) {
      showTab('login');
      showAuthError(error);
      logEvent(`Failed login for ${username}: ${describe(error)}`, 'fail');
    }
  });
});

$('forgot-form').addEventListener('submit', (event) => {
  event.preventDefault();
  clearMessages();
  const who = $('forgot-who').value.trim();
  const asked = who.includes('@') ? { email: who } : { username: who };
  busy($('forgot-button'), async () => {
    try {
      await account.forgotPassword(asked);
    } catch (error) {
      showAuthError(error);
      logEvent(`Password reset request failed: ${describe(error)}`, 'fail');
      return;
    }
    logEvent(`Password reset requested for ${who}`);
    showTab('reset');
    if (asked.username) $('reset-username').value = asked.username;
    $('login-notice').textContent = 'If that account has a verified email, a code is on its way to it.';
    $(asked.username ? 'reset-code' : 'reset-username').focus();
  });
});

$('reset-form').addEventListener('submit', (event) => {
  event.preventDefault();
  clearMessages();
  const username = $('reset-username').value.trim();
  busy($('reset-button'), async () => {
    try {
      await account.resetPassword(username, $('reset-code').value.trim(), $('reset-password').value);
    } catch (error) {
      showAuthError(error);
      logEvent(`Password reset failed for ${username}: ${describe(error)}`, 'fail');
      return;
    }
    logEvent(`Password reset for ${username}; every session of the account has ended`, 'ok');
    $('reset-code').value = '';
    $('reset-password').value = '';
    showTab('login');
    $('username').value = username;
    $('login-notice').textContent = 'Password changed. Log in with the new password.';
    $('password').focus();
  });
});

$('have-code').addEventListener('click', () => {
  clearMessages();
  showTab('reset');
  $('reset-username').focus();
});

$('delete-start').addEventListener('click', () => {
  $('delete-start').hidden = true;
  $('delete-form').hidden = false;
  $('delete-password').focus();
});
$('delete-cancel').addEventListener('click', () => {
  $('delete-password').value = '';
  $('delete-error').textContent = '';
  $('delete-form').hidden = true;
  $('delete-start').hidden = false;
});
$('delete-form').addEventListener('submit', (event) => {
  event.preventDefault();
  clearMessages();
  const username = $('whoami').textContent;
  busy($('delete-button'), async () => {
    farewell = 'Your account is deleted.';
    try {
      await account.deleteAccount($('delete-password').value);
    } catch (error) {
      farewell = null;
      $('delete-error').textContent = describe(error);
      logEvent(`Account deletion failed: ${describe(error)}`, 'fail');
      return;
    }
    logEvent(`Deleted the account ${username}`, 'ok');
    if (farewell) showLogin(farewell); // no logout event came: the client had nothing left to end
    farewell = null;
    $('username').value = '';
  });
});

$('note-form').addEventListener('submit', (event) => {
  event.preventDefault();
  guarded(async () => {
    const input = $('note-text');
    if (await api('/notes', jsonBody('POST', { text: input.value }))) {
      input.value = '';
      await loadNotes();
    }
  });
});

$('reload-notes').addEventListener('click', () => guarded(loadNotes));
$('reload-sessions').addEventListener('click', () => guarded(loadSessions));
$('reload-activity').addEventListener('click', () => guarded(loadActivity));
$('ping').addEventListener('click', () => guarded(async () => {
  const me = await api('/me');
  if (me !== null) logEvent(`GET /me answered for ${me.username}`);
}));
$('logout').addEventListener('click', () => guarded(() => client.logout()));
$('logout-everywhere').addEventListener('click', () => guarded(() => client.logoutEverywhere()));
$('end-all-sessions').addEventListener('click', () => guarded(() => client.logoutEverywhere()));

$('device').value = `demo page (${navigator.platform || 'browser'})`;
showLogin();
setInterval(tick, 250);
document.body.dataset.ready = 'true';
