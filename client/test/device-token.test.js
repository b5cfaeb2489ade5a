// The device token: kept from each password grant, sent on the next one, outliving logout,
// so that wrong passwords typed elsewhere for the same name cannot lock this device out.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Gatehouse } from '../gatehouse.js';
import { asyncMapStorage, BASE, events, FakeApi, PASSWORD } from './support/fake-api.js';

function client(api, options = {}) {
  return new Gatehouse({ baseUrl: BASE, fetch: api.fetch, ...options });
}

const sentDeviceTokens = (api) => api.tokenCalls('password').map((c) => c.form.device_token ?? null);

describe('device token', () => {
  test('the first login sends none; later logins send the one the server gave, also after logout', async () => {
    const api = new FakeApi();
    const auth = client(api);

    await auth.login('demo', PASSWORD);
    await auth.logout();
    await auth.login('demo', PASSWORD);

    assert.deepEqual(sentDeviceTokens(api), [null, 'dt-1']);
  });

  test('a forgotten-password request sends it too', async () => {
    const api = new FakeApi();
    const auth = client(api);

    await auth.forgotPassword({ username: 'demo' });
    await auth.login('demo', PASSWORD);
    await auth.logout();
    await auth.forgotPassword({ username: 'demo' });

    const forgot = api.calls.filter((c) => c.path === '/auth/password/forgot').map((c) => c.json);
    assert.deepEqual(forgot, [{ username: 'demo' }, { username: 'demo', device_token: 'dt-1' }]);
  });

  test('the newest device token replaces the older one', async () => {
    const api = new FakeApi();
    const auth = client(api);

    await auth.login('demo', PASSWORD);
    await auth.login('demo', PASSWORD);
    await auth.login('demo', PASSWORD);

    assert.deepEqual(sentDeviceTokens(api), [null, 'dt-1', 'dt-2']);
  });

  test('with a storage adapter it survives a restart, under its own key', async () => {
    const storage = asyncMapStorage();
    const api = new FakeApi();
    const first = client(api, { storage });
    await first.login('demo', PASSWORD);
    await first.logout();

    const restarted = client(api, { storage });
    assert.equal(await restarted.restore(), false, 'a device token is not a session');
    await restarted.login('demo', PASSWORD);

    assert.deepEqual(sentDeviceTokens(api), [null, 'dt-1']);
    assert.equal(storage.map.get('gatehouse.device_token'), 'dt-2');
  });

  test('deviceTokenKey names where it is stored', async () => {
    const storage = asyncMapStorage();
    const api = new FakeApi();
    await client(api, { storage, deviceTokenKey: 'shop.device' }).login('demo', PASSWORD);

    assert.equal(storage.map.get('shop.device'), 'dt-1');
    assert.equal(storage.map.has('gatehouse.device_token'), false);
  });

  test('a failed login still sends it, and keeps it', async () => {
    const api = new FakeApi();
    const auth = client(api);
    await auth.login('demo', PASSWORD);
    await auth.logout();

    await assert.rejects(auth.login('demo', 'wrong'), { code: 'invalid_grant' });
    await auth.login('demo', PASSWORD);

    assert.deepEqual(sentDeviceTokens(api), [null, 'dt-1', 'dt-1']);
  });

  test('refresh grants neither send nor replace it', async () => {
    const storage = asyncMapStorage();
    const api = new FakeApi();
    const auth = client(api, { storage });
    await auth.login('demo', PASSWORD);
    api.expireAccessTokens();

    assert.equal((await auth.fetch('/notes')).status, 200);

    const refresh = api.tokenCalls('refresh_token');
    assert.equal(refresh.length, 1);
    assert.deepEqual(Object.keys(refresh[0].form).sort(), ['grant_type', 'refresh_token']);
    assert.equal(storage.map.get('gatehouse.device_token'), 'dt-1');
  });

  test('an ended session (session-expired) keeps the device token', async () => {
    const storage = asyncMapStorage();
    const api = new FakeApi();
    const auth = client(api, { storage });
    await auth.login('demo', PASSWORD);
    const seen = events(auth, 'session-expired');
    api.endSessions();

    await auth.fetch('/notes');

    assert.deepEqual(seen, [['session-expired', null]]);
    assert.deepEqual(Object.fromEntries(storage.map), { 'gatehouse.device_token': 'dt-1' });
  });

  test('a server that sends no device token: logins work and send none', async () => {
    const storage = asyncMapStorage();
    const api = new FakeApi({ deviceTokens: false });
    const auth = client(api, { storage });

    await auth.login('demo', PASSWORD);
    await auth.login('demo', PASSWORD);

    assert.deepEqual(sentDeviceTokens(api), [null, null]);
    assert.equal(storage.map.has('gatehouse.device_token'), false);
  });

  test('it goes only to the token endpoint, never with other requests', async () => {
    const api = new FakeApi();
    const auth = client(api);
    await auth.login('demo', PASSWORD);
    await auth.login('demo', PASSWORD);
    await auth.fetch('/notes');
    await auth.logout();

    const carriers = api.calls.filter((c) => JSON.stringify(c).includes('dt-1'));
    assert.deepEqual(carriers.map((c) => [c.path, c.form?.grant_type]), [['/auth/token', 'password']]);
  });
});
