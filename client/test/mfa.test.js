// The second factor: the mfa_required challenge, the code and recovery-code grants,
// the factor's calls and the step-up answer.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Gatehouse, GatehouseError, isInvalidTokenResponse, isStepUpResponse, MfaRequiredError } from '../gatehouse.js';
import { BASE, events, FakeApi, MFA_TOKEN, OTP, PASSWORD, RECOVERY_CODE } from './support/fake-api.js';

function withFactor() {
  const api = new FakeApi({ secondFactor: true });
  return { api, auth: new Gatehouse({ baseUrl: BASE, fetch: api.fetch }) };
}

async function challenge(auth) {
  try {
    await auth.login('ann', PASSWORD, { device: 'laptop' });
  } catch (error) {
    if (error instanceof MfaRequiredError) return error;
    throw error;
  }
  throw new Error('no challenge');
}

describe('login with a second factor', () => {
  test('the password alone rejects with MfaRequiredError and keeps no tokens', async () => {
    const { auth } = withFactor();
    const seen = events(auth, 'login');
    const error = await challenge(auth);
    assert.ok(error instanceof GatehouseError);
    assert.deepEqual([error.status, error.code, error.mfaToken, error.username], [403, 'mfa_required', MFA_TOKEN, 'ann']);
    assert.equal(auth.loggedIn, false);
    assert.deepEqual(seen, []);
  });

  test('the code finishes it: logged in, the login event fired, the device token kept and sent next time', async () => {
    const { api, auth } = withFactor();
    const seen = events(auth, 'login');
    await auth.loginWithOtp(await challenge(auth), OTP);
    assert.equal(auth.loggedIn, true);
    assert.deepEqual(seen, [['login', { username: 'ann' }]]);
    const [otpCall] = api.tokenCalls('urn:gatehouse:grant-type:mfa-otp');
    assert.deepEqual(otpCall.form, { grant_type: 'urn:gatehouse:grant-type:mfa-otp', mfa_token: MFA_TOKEN, otp: OTP });
    await challenge(auth);
    const passwordCalls = api.tokenCalls('password');
    assert.equal(passwordCalls.at(-1).form.device_token, api.issuedDeviceTokens[0]);
    assert.equal((await auth.fetch('/notes')).status, 200);
  });

  test('a recovery code finishes it too, and remember: false is sent', async () => {
    const { api, auth } = withFactor();
    await auth.loginWithRecoveryCode(await challenge(auth), RECOVERY_CODE, { remember: false });
    assert.equal(auth.loggedIn, true);
    const [call] = api.tokenCalls('urn:gatehouse:grant-type:mfa-recovery-code');
    assert.equal(call.form.recovery_code, RECOVERY_CODE);
    assert.equal(call.form.remember_device, 'false');
  });

  test('a wrong or reused code rejects with invalid_grant and logs nothing in', async () => {
    const { auth } = withFactor();
    const first = await challenge(auth);
    await assert.rejects(auth.loginWithOtp(first, '000000'), (error) => error.code === 'invalid_grant');
    assert.equal(auth.loggedIn, false);
    await auth.loginWithOtp(first, OTP);
    await assert.rejects(auth.loginWithOtp(first, OTP), (error) => error.code === 'invalid_grant');
  });
});

describe('managing the factor', () => {
  test('start, confirm, new codes and remove send their bodies with the bearer token', async () => {
    const api = new FakeApi();
    const auth = new Gatehouse({ baseUrl: BASE, fetch: api.fetch });
    await auth.login('ann', PASSWORD);
    const enrolment = await auth.startTotp(PASSWORD);
    assert.equal(enrolment.secret, 'S'.repeat(32));
    assert.ok(enrolment.qr_svg.startsWith('<svg'));
    const codes = await auth.confirmTotp(OTP);
    assert.equal(codes.length, 10);
    assert.equal((await auth.newRecoveryCodes(OTP)).length, 10);
    await auth.removeTotp({ recoveryCode: RECOVERY_CODE });
    const calls = api.calls.filter((c) => c.path.startsWith('/auth/mfa/'));
    assert.deepEqual(calls.map((c) => [c.path, c.json]), [
      ['/auth/mfa/totp', { current_password: PASSWORD }],
      ['/auth/mfa/totp/confirm', { code: OTP }],
      ['/auth/mfa/recovery-codes', { code: OTP }],
      ['/auth/mfa/totp/remove', { recovery_code: RECOVERY_CODE }],
    ]);
    assert.ok(calls.every((c) => c.authorization?.startsWith('Bearer at-')));
  });

  test('a wrong code rejects with invalid_code; removeTotp needs exactly one of its two', async () => {
    const api = new FakeApi();
    const auth = new Gatehouse({ baseUrl: BASE, fetch: api.fetch });
    await auth.login('ann', PASSWORD);
    await assert.rejects(auth.confirmTotp('999999'), (error) => error.code === 'invalid_code');
    await assert.rejects(auth.removeTotp({}), TypeError);
    await assert.rejects(auth.removeTotp({ code: OTP, recoveryCode: RECOVERY_CODE }), TypeError);
  });
});

test('a step-up answer is told apart from an invalid token, and is not refreshed', async () => {
  const api = new FakeApi();
  const auth = new Gatehouse({ baseUrl: BASE, fetch: api.fetch });
  await auth.login('ann', PASSWORD);
  const response = await auth.fetch('/payouts');
  assert.equal(isStepUpResponse(response), true);
  assert.equal(isInvalidTokenResponse(response), false);
  assert.deepEqual(api.tokenCalls('refresh_token'), []);
});
