// A typed app using the package, checked with `tsc --noEmit` (strict): the declarations
// must let every documented use compile, and must refuse the wrong ones marked below.
import {
  Gatehouse,
  GatehouseError,
  MfaRequiredError,
  errorFromResponse,
  isInvalidTokenResponse,
  isStepUpResponse,
  localStorageAdapter,
  type ForgotPasswordRequest,
  type GatehouseEventMap,
  type StorageAdapter,
  type TotpEnrolment,
} from 'gatehouse-client';

interface Note {
  id: string;
  text: string;
}

// An async adapter, the shape a secure-storage plugin has.
const vault = new Map<string, string>();
const secure: StorageAdapter = {
  get: async (key) => vault.get(key) ?? null,
  set: async (key, value) => void vault.set(key, value),
  remove: async (key) => void vault.delete(key),
};

export async function app(password: string): Promise<Note[]> {
  const auth = new Gatehouse({ baseUrl: 'https://api.example.test/api', storage: secure, deviceTokenKey: 'shop.device' });
  auth.addEventListener('session-expired', (event) => {
    const nothing: null = event.detail;
    return nothing;
  });
  auth.addEventListener('logout', (event) => {
    const everywhere: boolean = event.detail.everywhere;
    const deleted: true | undefined = event.detail.accountDeleted;
    return [everywhere, deleted];
  });
  auth.addEventListener('login', (event) => ('username' in event.detail ? event.detail.username : 'restored'));
  auth.addEventListener('some-other-event', (event: Event) => event.type);

  if (!(await auth.restore())) {
    try {
      await auth.login('demo', password, { device: 'typed app' });
    } catch (error) {
      if (error instanceof GatehouseError && error.code === 'too_many_attempts') {
        const wait: number | null = error.retryAfter;
        throw new Error(`locked for ${wait ?? '?'} s (HTTP ${error.status})`);
      }
      throw error;
    }
  }
  const loggedIn: boolean = auth.loggedIn;
  const response = await auth.fetch('/notes', { headers: { Accept: 'application/json' } });
  if (!response.ok) throw await errorFromResponse(response);
  const notes = (await response.json()) as Note[];
  return loggedIn && !isInvalidTokenResponse(response) ? notes : [];
}

export async function recovery(auth: Gatehouse): Promise<string> {
  const { username } = await auth.register('ann', 'a long pass phrase', 'ann@example.test');
  await auth.register('bob', 'a long pass phrase');
  await auth.verifyEmail(username, 'K7QM-4XPA');
  const byName: ForgotPasswordRequest = { username };
  await auth.forgotPassword(byName);
  await auth.forgotPassword({ email: 'ann@example.test' });
  await auth.resetPassword(username, 'K7QM-4XPA', 'a newer pass phrase');
  await auth.deleteAccount('a newer pass phrase');
  await auth.logoutEverywhere();
  await auth.logout();
  return username;
}

export async function secondFactor(auth: Gatehouse, askCode: () => Promise<string>): Promise<string[]> {
  try {
    await auth.login('ann', 'a long pass phrase');
  } catch (error) {
    if (!(error instanceof MfaRequiredError)) throw error;
    const token: string = error.mfaToken;
    if (token.length === 0) await auth.loginWithRecoveryCode(error, 'ABCD-EFGH-IJKL-MNOP', { remember: false });
    else await auth.loginWithOtp(error, await askCode());
  }
  const enrolment: TotpEnrolment = await auth.startTotp('a long pass phrase');
  const codes: string[] = await auth.confirmTotp(await askCode());
  await auth.newRecoveryCodes(await askCode());
  await auth.removeTotp({ recoveryCode: codes[0] ?? enrolment.secret });
  await auth.removeTotp({ code: '123456' });
  const response = await auth.fetch('/payouts');
  return isStepUpResponse(response) ? [] : codes;
}

export function browserStorage(storage: Storage): StorageAdapter[] {
  return [localStorageAdapter(storage), localStorageAdapter()];
}

export function detailOf(event: GatehouseEventMap['logout']): boolean {
  return event.detail.everywhere;
}

// What the declarations must refuse (tsc fails if any of these compiles).
export async function misuse(auth: Gatehouse): Promise<void> {
  // @ts-expect-error: the username, or the email, not both
  await auth.forgotPassword({ username: 'ann', email: 'ann@example.test' });
  // @ts-expect-error: one of the two is required
  await auth.forgotPassword({});
  // @ts-expect-error: a password is a string
  await auth.login('demo', 1234);
  // @ts-expect-error: the adapter needs get, set and remove
  new Gatehouse({ storage: { get: () => null } });
  // @ts-expect-error: the client has no such option
  new Gatehouse({ baseURL: 'https://api.example.test' });
  // @ts-expect-error: a logout detail has no username
  auth.addEventListener('logout', (event) => event.detail.username);
  // @ts-expect-error: a code or a recovery code, not both
  await auth.removeTotp({ code: '123456', recoveryCode: 'ABCD-EFGH-IJKL-MNOP' });
  // @ts-expect-error: the challenge is the MfaRequiredError, not its token
  await auth.loginWithOtp('m'.repeat(43), '123456');
  // @ts-expect-error: loggedIn is read-only
  auth.loggedIn = true;
}
