// Unit tests of gatehouse.js against an in-memory fake of the Gatehouse API.
// Run: make test-js, or node --test client/test/*.test.js (Node 20+: fetch, Response, EventTarget built in)

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Gatehouse, GatehouseError, localStorageAdapter } from '../gatehouse.js';
import { asyncMapStorage, BASE, events, FakeApi, loggedIn } from './support/fake-api.js';

describe('login', () => {
  test('posts a form-encoded password grant and sends the access token afterwards', async () => {
    const api = new FakeApi();
    const auth = new Gatehouse({ baseUrl: `${BASE}/`, fetch: api.fetch });
    const seen = events(auth, 'login');

    await auth.login('demo', 'right', { device: 'phone' });
    const response = await auth.fetch('/notes');

    assert.equal(response.status, 200);
    assert.deepEqual(api.calls[0].form, { grant_type: 'password', username: 'demo', password: 'right', device: 'phone' });
    assert.equal(api.calls[1].authorization, 'Bearer at-1');
    assert.equal(api.calls[1].credentials, 'omit');
    assert.deepEqual(seen, [['login', { username: 'demo' }]]);
    assert.equal(auth.loggedIn, true);
  });

  test('a wrong password is a GatehouseError with the OAuth code and description', async () => {
    const api = new FakeApi();
    const auth = new Gatehouse({ baseUrl: BASE, fetch: api.fetch });

    await assert.rejects(auth.login('demo', 'wrong'), (error) => {
      assert.ok(error instanceof GatehouseError);
      assert.equal(error.status, 400);
      assert.equal(error.code, 'invalid_grant');
      assert.equal(error.message, 'The username or password is wrong.');
      return true;
    });
    assert.equal(auth.loggedIn, false);
  });

  test('fetch refuses to send the token anywhere but the API', async () => {
    const { api, auth } = await loggedIn();
    await assert.rejects(auth.fetch('https://evil.example/steal'), TypeError);
    await assert.rejects(auth.fetch('//evil.example/steal'), TypeError);
    await assert.rejects(auth.fetch('https://api.example.test/apiary'), TypeError);
    assert.equal((await auth.fetch(`${BASE}/notes`)).status, 200);
    assert.equal(api.calls.length, 2);
  });
});

describe('baseUrl', () => {
  function withLocation(href, body) {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'location');
    Object.defineProperty(globalThis, 'location', { value: new URL(href), configurable: true });
    try {
      return body();
    } finally {
      if (saved) Object.defineProperty(globalThis, 'location', saved);
      else delete globalThis.location;
    }
  }

  async function firstUrl(options) {
    const api = new FakeApi();
    const auth = new Gatehouse({ ...options, fetch: (url, init) => { api.seen = url; return api.fetch(url, init); } });
    await auth.fetch('/notes');
    return api.seen;
  }

  test('defaults to the page origin, and resolves a relative baseUrl against the page', async () => {
    const [same, relative] = withLocation('https://app.example.test/demo/index.html', () => [
      firstUrl({}),
      firstUrl({ baseUrl: '/api/' }),
    ]);
    assert.equal(await same, 'https://app.example.test/notes');
    assert.equal(await relative, 'https://app.example.test/api/notes');
  });

  test('a Cordova page on file:// must name its API, and then works', async () => {
    withLocation('file:///android_asset/www/index.html', () => {
      assert.throws(() => new Gatehouse(), TypeError);
    });
    const url = withLocation('file:///android_asset/www/index.html', () => firstUrl({ baseUrl: BASE }));
    assert.equal(await url, `${BASE}/notes`);
  });
});

describe('refresh', () => {
  test('a 401 invalid_token refreshes once and retries the request with the new token', async () => {
    const { api, auth } = await loggedIn();
    const seen = events(auth, 'refresh', 'session-expired');
    api.expireAccessTokens();

    const response = await auth.fetch('/notes', { method: 'POST', body: '{"text":"x"}', headers: { 'Content-Type': 'application/json' } });

    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { path: '/notes', method: 'POST', body: '{"text":"x"}' });
    assert.deepEqual(
      api.calls.map((c) => [c.method, c.path, c.authorization]),
      [
        ['POST', '/auth/token', null],
        ['POST', '/notes', 'Bearer at-1'],
        ['POST', '/auth/token', null],
        ['POST', '/notes', 'Bearer at-2'],
      ],
    );
    assert.equal(api.tokenCalls('refresh_token')[0].form.refresh_token, 'rt-1');
    assert.deepEqual(seen, [['refresh', null]]);
  });

  test('parallel requests that all get 401 share one refresh', async () => {
    const { api, auth } = await loggedIn();
    api.expireAccessTokens();

    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => auth.fetch(`/notes/${i}`)));

    assert.deepEqual(responses.map((r) => r.status), Array(8).fill(200));
    assert.equal(api.tokenCalls('refresh_token').length, 1);
    const retries = api.calls.filter((c) => c.path.startsWith('/notes/') && c.authorization === 'Bearer at-2');
    assert.equal(retries.length, 8);
    assert.equal(api.sessions.size, 1, 'no reuse detection: the session is alive');
  });

  test('a 401 arriving after the refresh finished reuses the new token instead of refreshing again', async () => {
    const { api, auth } = await loggedIn();
    const answer = api.fetch;
    let release;
    const released = new Promise((resolve) => (release = resolve));
    api.fetch = async (url, init) => {
      const response = await answer(url, init);
      if (url.endsWith('/slow')) await released; // its 401 arrives late
      return response;
    };
    const client = new Gatehouse({ baseUrl: BASE, fetch: (u, i) => api.fetch(u, i) });
    await client.login('demo', 'right');
    api.expireAccessTokens();

    const slow = client.fetch('/slow'); // sent with at-2, answered 401 ... later
    assert.equal((await client.fetch('/notes')).status, 200); // 401, refresh to at-3, retry
    release();

    assert.equal((await slow).status, 200);
    assert.equal(api.tokenCalls('refresh_token').length, 1);
    assert.equal(api.calls.at(-1).authorization, 'Bearer at-3');
    assert.ok(auth.loggedIn);
  });

  test('an access token expired by the local clock is refreshed before sending, without a 401', async () => {
    const { api, auth } = await loggedIn({ ttl: 0 });

    assert.equal((await auth.fetch('/notes')).status, 200);
    assert.deepEqual(
      api.calls.slice(1).map((c) => [c.path, c.authorization]),
      [
        ['/auth/token', null],
        ['/notes', 'Bearer at-2'],
      ],
    );
  });

  test('parallel requests with a token expired by the clock share one refresh too', async () => {
    const storage = asyncMapStorage(); // reading the refresh token is async: a window for a race
    const { api, auth } = await loggedIn({ ttl: 0, storage });

    const responses = await Promise.all(Array.from({ length: 5 }, () => auth.fetch('/notes')));

    assert.deepEqual(responses.map((r) => r.status), Array(5).fill(200));
    assert.equal(api.tokenCalls('refresh_token').length, 1);
  });

  test('only one retry: a second 401 is returned to the caller', async () => {
    const { api, auth } = await loggedIn();
    api.expireAccessTokens();
    const issue = api.issue.bind(api);
    api.issue = (session) => {
      const tokens = issue(session);
      api.access.delete(tokens.access_token); // the new token fails too
      return tokens;
    };

    const response = await auth.fetch('/notes');

    assert.equal(response.status, 401);
    assert.equal(api.tokenCalls('refresh_token').length, 1);
    assert.equal(api.calls.filter((c) => c.path === '/notes').length, 2);
  });

  test('no refresh for a missing-token 401 or a 403', async () => {
    const api = new FakeApi();
    const auth = new Gatehouse({ baseUrl: BASE, fetch: api.fetch });
    assert.equal((await auth.fetch('/notes')).status, 401);

    await auth.login('demo', 'right');
    assert.equal((await auth.fetch('/admin/users')).status, 403);
    assert.equal(api.tokenCalls('refresh_token').length, 0);
  });

  test('a session ended on the server: session-expired, tokens forgotten, the 401 returned', async () => {
    const { api, auth } = await loggedIn();
    const seen = events(auth, 'session-expired', 'logout');
    api.endSessions();

    const response = await auth.fetch('/notes');

    assert.equal(response.status, 401);
    assert.deepEqual(seen, [['session-expired', null]]);
    assert.equal(auth.loggedIn, false);
    // Nothing left to refresh with: the next call goes out without a token.
    await auth.fetch('/notes');
    assert.equal(api.calls.at(-1).authorization, null);
    assert.equal(api.tokenCalls('refresh_token').length, 1);
  });

  test('a network failure during refresh rejects the fetch but keeps the session', async () => {
    const api = new FakeApi();
    let offline = false;
    const auth = new Gatehouse({
      baseUrl: BASE,
      fetch: async (url, init) => {
        if (offline) throw new TypeError('Failed to fetch');
        return api.fetch(url, init);
      },
    });
    await auth.login('demo', 'right');
    api.expireAccessTokens();
    const seen = events(auth, 'session-expired');

    offline = true;
    await assert.rejects(auth.fetch('/notes'), TypeError);
    offline = false;

    assert.equal(auth.loggedIn, true);
    assert.equal((await auth.fetch('/notes')).status, 200);
    assert.deepEqual(seen, []);
  });
});

describe('storage adapter', () => {
  test('the refresh token (never the access token) is stored; it follows rotation; logout removes it', async () => {
    const storage = asyncMapStorage();
    const { api, auth } = await loggedIn({ storage });
    const stored = () => Object.fromEntries(storage.map);
    assert.deepEqual(stored(), { 'gatehouse.refresh_token': 'rt-1', 'gatehouse.device_token': 'dt-1' });

    api.expireAccessTokens();
    await auth.fetch('/notes');
    assert.deepEqual(stored(), { 'gatehouse.refresh_token': 'rt-2', 'gatehouse.device_token': 'dt-1' });
    assert.ok(![...storage.map.values()].some((v) => v.startsWith('at-')));

    await auth.logout();
    assert.deepEqual(stored(), { 'gatehouse.device_token': 'dt-1' }, 'only the device token outlives logout');
    assert.deepEqual(api.calls.at(-1).form, { token: 'rt-2' });
  });

  test('restore() resumes the stored session after a restart, and says false when there is none', async () => {
    const storage = asyncMapStorage();
    const { api } = await loggedIn({ storage });

    const restarted = new Gatehouse({ baseUrl: BASE, fetch: api.fetch, storage });
    const seen = events(restarted, 'login');
    assert.equal(await restarted.restore(), true);
    assert.deepEqual(seen, [['login', { restored: true }]]);
    assert.equal((await restarted.fetch('/notes')).status, 200);
    assert.equal(api.calls.at(-1).authorization, 'Bearer at-2');

    const empty = new Gatehouse({ baseUrl: BASE, fetch: api.fetch, storage: asyncMapStorage() });
    assert.equal(await empty.restore(), false);
  });

  test('a refresh token rotated by another tab is read from storage, not reused from memory', async () => {
    const storage = asyncMapStorage();
    const { api, auth: tabA } = await loggedIn({ storage });
    const tabB = new Gatehouse({ baseUrl: BASE, fetch: api.fetch, storage });
    await tabB.restore(); // rotates rt-1 -> rt-2 in the shared storage
    api.expireAccessTokens();

    assert.equal((await tabA.fetch('/notes')).status, 200);
    assert.equal(api.tokenCalls('refresh_token').at(-1).form.refresh_token, 'rt-2');
    assert.equal(api.sessions.size, 1);
  });

  test('localStorageAdapter maps onto the Web Storage API', () => {
    const data = new Map();
    const fake = { getItem: (k) => data.get(k) ?? null, setItem: (k, v) => data.set(k, v), removeItem: (k) => data.delete(k) };
    const adapter = localStorageAdapter(fake);
    adapter.set('k', 'v');
    assert.equal(adapter.get('k'), 'v');
    adapter.remove('k');
    assert.equal(adapter.get('k'), null);
  });
});

describe('logout', () => {
  test('logout revokes the refresh token, forgets both tokens and says so', async () => {
    const { api, auth } = await loggedIn();
    const seen = events(auth, 'logout');

    await auth.logout();

    assert.deepEqual(api.calls.at(-1), {
      method: 'POST', path: '/auth/revoke', authorization: null, form: { token: 'rt-1' }, json: null, credentials: 'omit',
    });
    assert.equal(api.sessions.size, 0);
    assert.deepEqual(seen, [['logout', { everywhere: false }]]);
    assert.equal(auth.loggedIn, false);
    await auth.fetch('/notes');
    assert.equal(api.calls.at(-1).authorization, null);
  });

  test('logoutEverywhere deletes all sessions with the bearer token', async () => {
    const { api, auth } = await loggedIn();
    const seen = events(auth, 'logout');

    await auth.logoutEverywhere();

    assert.deepEqual(api.calls.at(-1).method + ' ' + api.calls.at(-1).path, 'DELETE /auth/sessions');
    assert.equal(api.calls.at(-1).authorization, 'Bearer at-1');
    assert.deepEqual(seen, [['logout', { everywhere: true }]]);
    assert.equal(auth.loggedIn, false);
  });

  test('a refresh that finishes after logout does not bring the session back', async () => {
    const { api, auth } = await loggedIn();
    api.expireAccessTokens();
    let open;
    api.gate = new Promise((resolve) => (open = resolve));

    const pending = auth.fetch('/notes'); // 401, then a refresh held at the gate
    await new Promise((resolve) => setTimeout(resolve, 10));
    const loggingOut = auth.logout(); // waits for that refresh, then revokes its new token
    api.gate = null;
    open();
    await loggingOut;
    await pending;

    assert.equal(auth.loggedIn, false);
    assert.equal(api.sessions.size, 0, 'the rotated session was revoked');
    assert.deepEqual(api.calls.at(-1).form, { token: 'rt-2' });
  });
});
