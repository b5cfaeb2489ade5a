// Sign-up, email verification, password reset by mailed code and account deletion.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Gatehouse, GatehouseError } from '../gatehouse.js';
import { asyncMapStorage, BASE, events, FakeApi, loggedIn, MAILED_CODE, PASSWORD } from './support/fake-api.js';

function anonymous() {
  const api = new FakeApi();
  return { api, auth: new Gatehouse({ baseUrl: BASE, fetch: api.fetch }) };
}

/** The JSON requests the client sent: [path, body, Authorization]. */
const jsonCalls = (api) => api.calls.filter((c) => c.json !== null).map((c) => [c.path, c.json, c.authorization]);

function rejectsWith(promise, expected) {
  return assert.rejects(promise, (error) => {
    assert.ok(error instanceof GatehouseError);
    assert.deepEqual({ status: error.status, code: error.code, message: error.message }, expected);
    return true;
  });
}

describe('register', () => {
  test('posts the name, password and email as JSON and resolves with the answer', async () => {
    const { api, auth } = anonymous();

    const answer = await auth.register('ann', 'a long pass', 'ann@example.test');

    assert.deepEqual(answer, { username: 'ann' });
    assert.deepEqual(jsonCalls(api), [['/auth/register', { username: 'ann', password: 'a long pass', email: 'ann@example.test' }, null]]);
    assert.equal(api.calls[0].method, 'POST');
    assert.equal(api.calls[0].credentials, 'omit');
    assert.equal(auth.loggedIn, false, 'signing up does not log in');
  });

  test('without an email the body has no email field', async () => {
    const { api, auth } = anonymous();
    await auth.register('bob', 'a long pass');
    assert.deepEqual(api.calls[0].json, { username: 'bob', password: 'a long pass' });
  });

  test('a taken name rejects with the stable code and the message', async () => {
    const { auth } = anonymous();
    await rejectsWith(auth.register('taken', 'a long pass'), {
      status: 409, code: 'username_taken', message: 'That username is taken.',
    });
  });
});

describe('verifyEmail', () => {
  test('posts the name and the mailed code', async () => {
    const { api, auth } = anonymous();
    assert.equal(await auth.verifyEmail('ann', MAILED_CODE), undefined);
    assert.deepEqual(jsonCalls(api), [['/auth/email/verify', { username: 'ann', code: MAILED_CODE }, null]]);
  });

  test('a wrong code rejects with invalid_code', async () => {
    const { auth } = anonymous();
    await rejectsWith(auth.verifyEmail('ann', 'NOPE-NOPE'), {
      status: 400, code: 'invalid_code', message: 'The code is wrong or has expired.',
    });
  });
});

describe('forgotPassword', () => {
  test('by username or by email, each alone in the body', async () => {
    const { api, auth } = anonymous();
    assert.equal(await auth.forgotPassword({ username: 'ann' }), undefined);
    assert.equal(await auth.forgotPassword({ email: 'ann@example.test' }), undefined);
    assert.deepEqual(jsonCalls(api), [
      ['/auth/password/forgot', { username: 'ann' }, null],
      ['/auth/password/forgot', { email: 'ann@example.test' }, null],
    ]);
  });

  test('neither or both is a TypeError, and nothing is sent', async () => {
    const { api, auth } = anonymous();
    await assert.rejects(auth.forgotPassword({}), TypeError);
    await assert.rejects(auth.forgotPassword(), TypeError);
    await assert.rejects(auth.forgotPassword({ username: 'ann', email: 'ann@example.test' }), TypeError);
    assert.equal(api.calls.length, 0);
  });

  test('a server error is still an error (only the 202 means "asked")', async () => {
    const auth = new Gatehouse({
      baseUrl: BASE,
      fetch: async () => new Response(JSON.stringify({ error: 'service_unavailable', message: 'Try again.' }), {
        status: 503, headers: { 'Retry-After': '3' },
      }),
    });
    await assert.rejects(auth.forgotPassword({ username: 'ann' }), { code: 'service_unavailable', retryAfter: 3 });
  });
});

describe('resetPassword', () => {
  test('posts the name, the code and new_password', async () => {
    const { api, auth } = anonymous();
    assert.equal(await auth.resetPassword('ann', MAILED_CODE, 'a newer pass'), undefined);
    assert.deepEqual(jsonCalls(api), [
      ['/auth/password/reset', { username: 'ann', code: MAILED_CODE, new_password: 'a newer pass' }, null],
    ]);
  });

  test('a wrong code rejects with invalid_code', async () => {
    const { auth } = anonymous();
    await rejectsWith(auth.resetPassword('ann', 'NOPE-NOPE', 'a newer pass'), {
      status: 400, code: 'invalid_code', message: 'The code is wrong or has expired.',
    });
  });

  test('recovery calls never carry the bearer token, even while logged in', async () => {
    const { api, auth } = await loggedIn();
    await auth.register('cy', 'a long pass');
    await auth.verifyEmail('cy', MAILED_CODE);
    await auth.forgotPassword({ username: 'cy' });
    await auth.resetPassword('cy', MAILED_CODE, 'a newer pass');
    assert.deepEqual(jsonCalls(api).map(([, , authorization]) => authorization), [null, null, null, null]);
  });
});

describe('resendEmailCode', () => {
  test('posts with the bearer token and no body', async () => {
    const { api, auth } = await loggedIn();

    assert.equal(await auth.resendEmailCode(), undefined);

    const [call] = api.calls.filter((c) => c.path === '/auth/email/resend');
    assert.equal(call.authorization, 'Bearer at-1');
    assert.equal(api.resent, 1);
  });

  test('nothing to verify rejects with the server\'s code and keeps the session', async () => {
    const { api, auth } = await loggedIn();
    api.emailVerified = true;

    await rejectsWith(auth.resendEmailCode(), {
      status: 409, code: 'nothing_to_verify', message: 'This account has no unverified email address.',
    });
    assert.equal(auth.loggedIn, true);
  });
});

describe('deleteAccount', () => {
  test('posts current_password with the bearer token, then forgets every token and says so', async () => {
    const storage = asyncMapStorage();
    const { api, auth } = await loggedIn({ storage });
    const seen = events(auth, 'logout');

    await auth.deleteAccount(PASSWORD);

    assert.deepEqual(jsonCalls(api), [['/auth/account/delete', { current_password: PASSWORD }, 'Bearer at-1']]);
    assert.deepEqual(seen, [['logout', { everywhere: true, accountDeleted: true }]]);
    assert.equal(auth.loggedIn, false);
    assert.equal(storage.map.size, 0, 'refresh token and device token are both gone');
    await auth.login('demo', PASSWORD).catch(() => {});
    assert.equal(api.tokenCalls('password').at(-1).form.device_token, undefined);
  });

  test('a wrong password rejects and keeps the session and the stored tokens', async () => {
    const storage = asyncMapStorage();
    const { api, auth } = await loggedIn({ storage });
    const seen = events(auth, 'logout');

    await rejectsWith(auth.deleteAccount('wrong'), {
      status: 400, code: 'invalid_request', message: 'The current password is wrong.',
    });

    assert.equal(auth.loggedIn, true);
    assert.deepEqual(seen, []);
    assert.deepEqual(Object.fromEntries(storage.map), { 'gatehouse.refresh_token': 'rt-1', 'gatehouse.device_token': 'dt-1' });
    assert.equal((await auth.fetch('/notes')).status, 200);
    assert.equal(api.deleted, false);
  });

  test('an expired access token is refreshed first, like any authenticated call', async () => {
    const { api, auth } = await loggedIn();
    api.expireAccessTokens();

    await auth.deleteAccount(PASSWORD);

    assert.deepEqual(
      api.calls.filter((c) => c.path === '/auth/account/delete').map((c) => c.authorization),
      ['Bearer at-1', 'Bearer at-2'],
    );
    assert.equal(api.deleted, true);
  });

  test('without a session it rejects with the 401 and deletes nothing', async () => {
    const { api, auth } = anonymous();
    await assert.rejects(auth.deleteAccount(PASSWORD), { status: 401, code: 'missing_token' });
    assert.equal(api.deleted, false);
  });
});
