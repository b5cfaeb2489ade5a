// A minimal notes app on Gatehouse: log in (a refused login says why), list and add your
// notes, stay logged in across app restarts (storage.js), go back to the login form when
// the session ends, log out.
// Server text only ever reaches the page through textContent.

import { errorFromResponse, Gatehouse, GatehouseError } from './gatehouse.js';
import { apiBaseUrl } from './config.js';
import { chooseStorage } from './storage.js';

const $ = (id) => document.getElementById(id);

const baseUrl = apiBaseUrl(globalThis.location);
let storage; // chooseStorage()'s answer, once start() has it
let auth; // the Gatehouse client, made by start()

function describe(error) {
  if (error instanceof GatehouseError) {
    return error.retryAfter ? `${error.message} Try again in ${error.retryAfter} s.` : error.message;
  }
  // fetch's TypeError: offline, or the API does not allow this app's origin (CORS).
  return `Cannot reach the API at ${baseUrl}.`;
}

function showLogin(notice = '') {
  $('notes-screen').hidden = true;
  $('login-screen').hidden = false;
  $('login-notice').textContent = notice;
  $('notes').replaceChildren();
  $('whoami').textContent = '';
}

async function showNotes(username) {
  $('login-screen').hidden = true;
  $('notes-screen').hidden = false;
  $('login-error').textContent = '';
  if (username) {
    $('whoami').textContent = username;
  } else {
    // Restored after a restart: ask the API who this is.
    const me = await auth.fetch('/me');
    if (me.ok) $('whoami').textContent = (await me.json()).username;
  }
  await loadNotes();
}

async function loadNotes() {
  $('notes-error').textContent = '';
  try {
    // A 401 invalid_token here makes the client refresh once and retry, unseen.
    const response = await auth.fetch('/notes');
    if (!auth.loggedIn) return; // session-expired has already shown the login form
    if (!response.ok) throw await errorFromResponse(response);
    const notes = await response.json();
    $('notes').replaceChildren(
      ...notes.map((note) => {
        const item = document.createElement('li');
        item.textContent = note.text;
        return item;
      }),
    );
    $('notes-empty').hidden = notes.length > 0;
  } catch (error) {
    $('notes-error').textContent = describe(error);
  }
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = $('login-button');
  button.disabled = true;
  $('login-error').textContent = '';
  const username = $('username').value.trim();
  try {
    await auth.login(username, $('password').value, { device: storage.device });
    $('password').value = '';
    await showNotes(username);
  } catch (error) {
    $('login-error').textContent = describe(error);
  } finally {
    button.disabled = false;
  }
});

$('note-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = $('add-note');
  button.disabled = true;
  $('notes-error').textContent = '';
  try {
    const response = await auth.fetch('/notes', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: $('note-text').value }),
    });
    if (!auth.loggedIn) return;
    if (!response.ok) throw await errorFromResponse(response);
    $('note-text').value = '';
    await loadNotes();
  } catch (error) {
    $('notes-error').textContent = describe(error);
  } finally {
    button.disabled = false;
  }
});

$('reload').addEventListener('click', () => loadNotes());

$('logout').addEventListener('click', async () => {
  try {
    await auth.logout(); // forgets the tokens first, so this device is logged out even offline
  } catch (error) {
    $('login-error').textContent = describe(error);
  }
});

// Back from the background (Capacitor and Cordova webviews fire this on resume too):
// reload. An access token that expired meanwhile is refreshed before the request goes out.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && auth?.loggedIn && !$('notes-screen').hidden) loadNotes();
});

// Start-up, also after the app was killed: resume the stored session if there is one.
async function start() {
  $('api-url').textContent = baseUrl;
  storage = await chooseStorage();
  $('storage-kind').textContent = storage.label;
  auth = new Gatehouse({ baseUrl, storage: storage.adapter });
  // The server no longer knows the session (ended elsewhere, password changed, refresh
  // token expired after a long time in the background): back to the login form.
  auth.addEventListener('session-expired', () => showLogin('Your session has ended. Please log in again.'));
  auth.addEventListener('logout', () => showLogin('You are logged out.'));
  try {
    if (await auth.restore()) await showNotes();
    else showLogin();
  } catch (error) {
    // Offline or the API is down: the stored session is kept; logging in again also works.
    showLogin(describe(error));
  }
}

start()
  .catch((error) => showLogin(error.message)) // e.g. a device without the storage plugin
  .finally(() => {
    document.body.dataset.ready = 'true';
  });
