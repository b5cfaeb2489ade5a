// The demo page: log in, notes, sessions, log out; every request goes through gatehouse.js.
// Text from the server is only ever set with textContent, never parsed as HTML, and
// the page's CSP allows no inline script: a note cannot become code.

import { Gatehouse, errorFromResponse } from './gatehouse.js';

const $ = (id) => document.getElementById(id);

// Test hook (this dev page only): the next `count` authenticated requests carry a
// token the server refuses, as an expired access token would be.
let tokensToBreak = 0;

function demoFetch(url, init) {
  if (tokensToBreak > 0 && init.headers instanceof Headers && init.headers.has('Authorization')) {
    tokensToBreak -= 1;
    const headers = new Headers(init.headers);
    headers.set('Authorization', 'Bearer not.a.valid-token');
    return fetch(url, { ...init, headers });
  }
  return fetch(url, init);
}

const client = new Gatehouse({ fetch: demoFetch });
window.gatehouseDemo = { client, breakAccessToken: (count = 1) => { tokensToBreak = count; } };

function logEvent(text) {
  const item = document.createElement('li');
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $('events').prepend(item);
}

function showLogin(notice = '') {
  $('app-section').hidden = true;
  $('login-section').hidden = false;
  $('login-notice').textContent = notice;
  $('password').value = '';
  $('notes').replaceChildren();
  $('sessions').replaceChildren();
}

function showApp() {
  $('login-section').hidden = true;
  $('app-section').hidden = false;
  $('login-error').textContent = '';
  $('login-notice').textContent = '';
  $('app-error').textContent = '';
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
    $('app-error').textContent = error.message;
  }
}

// -- notes -------------------------------------------------------------------

async function loadNotes() {
  const notes = await api('/notes');
  if (notes === null) return;
  const items = notes.map((note) => {
    const item = document.createElement('li');
    item.dataset.noteId = note.id;
    const text = document.createElement('span');
    text.className = 'note-text';
    text.textContent = note.text;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'delete-note';
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

async function loadSessions() {
  const sessions = await api('/auth/sessions');
  if (sessions === null) return;
  const items = sessions.map((session) => {
    const item = document.createElement('li');
    item.dataset.sessionId = session.id;
    item.dataset.device = session.device;
    const label = document.createElement('span');
    label.className = session.current ? 'session-label current' : 'session-label';
    const since = new Date(session.created_at * 1000).toLocaleString();
    label.textContent = `${session.device || '(unnamed device)'}, since ${since}${session.current ? ' (this browser)' : ''}`;
    const end = document.createElement('button');
    end.type = 'button';
    end.className = 'end-session';
    end.textContent = 'End';
    end.addEventListener('click', () => guarded(async () => {
      if (await api(`/auth/sessions/${encodeURIComponent(session.id)}`, { method: 'DELETE' })) {
        logEvent(`Ended the session of ${session.device || 'an unnamed device'}`);
        await loadSessions();
      }
    }));
    item.append(label, end);
    return item;
  });
  $('sessions').replaceChildren(...items);
}

// -- client events -----------------------------------------------------------

client.addEventListener('login', () => guarded(async () => {
  logEvent('Logged in');
  const me = await api('/me');
  if (me === null) return;
  $('whoami').textContent = me.username;
  showApp();
  await Promise.all([loadNotes(), loadSessions()]);
}));
client.addEventListener('refresh', () => logEvent('Access token refreshed'));
client.addEventListener('logout', (event) => {
  logEvent(event.detail.everywhere ? 'Logged out everywhere' : 'Logged out');
  showLogin('You are logged out.');
});
client.addEventListener('session-expired', () => {
  logEvent('Session ended by the server');
  showLogin('Your session has ended. Please log in again.');
});

// -- forms and buttons -------------------------------------------------------

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('login-error').textContent = '';
  $('login-button').disabled = true;
  try {
    await client.login($('username').value.trim(), $('password').value, { device: $('device').value.trim() });
  } catch (error) {
    const wait = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : '';
    $('login-error').textContent = `${error.message}${wait}`;
  } finally {
    $('login-button').disabled = false;
  }
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
$('logout').addEventListener('click', () => guarded(() => client.logout()));
$('logout-everywhere').addEventListener('click', () => guarded(() => client.logoutEverywhere()));

$('device').value = `demo page (${navigator.platform || 'browser'})`;
showLogin();
document.body.dataset.ready = 'true';
