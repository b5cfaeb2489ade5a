// Where the app keeps the refresh token and the device token between launches.
//
// gatehouse.js takes any adapter with get(key), set(key, value) and remove(key), each
// of which may return a promise. It keeps only those two tokens there; the access token
// never leaves memory.
//
// * Capacitor (iOS, Android): @aparajita/capacitor-secure-storage, the iOS Keychain and,
//   on Android, values encrypted with a key held in the Android Keystore.
//     npm install @aparajita/capacitor-secure-storage && npx cap sync
// * Cordova (iOS, Android): cordova-plugin-secure-storage-echo, the same two stores.
//     cordova plugin add cordova-plugin-secure-storage-echo
// * A plain browser has no such store. The fallback is sessionStorage: it survives a
//   reload and ends with the tab. Any script running on the page (an XSS, a bad
//   dependency) can read it, as it can read localStorage, which is weaker still because
//   it also keeps the token on disk after the browser closes. On the web prefer no
//   storage at all (the session lasts as long as the page) unless reloads matter.

const NAMESPACE = 'gatehouse-example';

/** The adapter to use here: `{ adapter, label, device }` (device names the session). */
export async function chooseStorage() {
  const capacitor = globalThis.Capacitor;
  if (capacitor?.isNativePlatform?.()) {
    const platform = capacitor.getPlatform();
    return { adapter: await capacitorSecureStorage(), label: `secure storage (${platform} keychain/keystore)`, device: `Capacitor ${platform} app` };
  }
  if (globalThis.cordova) {
    await new Promise((resolve) => document.addEventListener('deviceready', resolve, { once: true }));
    const SecureStorage = globalThis.cordova.plugins?.SecureStorage;
    if (!SecureStorage) throw new Error('Install cordova-plugin-secure-storage-echo (see README.md).');
    const device = `Cordova ${globalThis.cordova.platformId} app`;
    try {
      return { adapter: await cordovaSecureStorage(SecureStorage), label: 'secure storage (keychain/keystore)', device };
    } catch {
      // Android refuses to create its key without a screen lock. Keep the session in
      // memory only (log in again after each launch) rather than anywhere readable.
      return { adapter: null, label: 'memory only: set a screen lock to stay logged in', device };
    }
  }
  return { adapter: webStorageAdapter(globalThis.sessionStorage), label: 'sessionStorage (browser fallback)', device: 'Browser' };
}

/** Capacitor: the plugin comes from npm, so the app's bundler resolves this import (README.md). */
async function capacitorSecureStorage() {
  const { SecureStorage, KeychainAccess } = await import('@aparajita/capacitor-secure-storage');
  // Only while the device is unlocked, never copied into a backup for another device,
  // never synced to iCloud (the plugin's sync setting is off unless turned on).
  await SecureStorage.setDefaultKeychainAccess(KeychainAccess.whenUnlockedThisDeviceOnly);
  await SecureStorage.setKeyPrefix(`${NAMESPACE}_`);
  return {
    get: (key) => SecureStorage.getItem(key),
    set: (key, value) => SecureStorage.setItem(key, value),
    remove: (key) => SecureStorage.removeItem(key),
  };
}

/** Cordova: the plugin's callback API as promises; a missing key reads as null. */
function cordovaSecureStorage(SecureStorage) {
  return new Promise((resolve, reject) => {
    const store = new SecureStorage(
      () =>
        resolve({
          get: (key) => new Promise((ok) => store.get(ok, () => ok(null), key)),
          set: (key, value) => new Promise((ok, fail) => store.set(ok, fail, key, value)),
          remove: (key) => new Promise((ok) => store.remove(() => ok(), () => ok(), key)),
        }),
      reject,
      NAMESPACE,
    );
  });
}

/** A Web Storage object (sessionStorage here) as an adapter. */
export function webStorageAdapter(storage) {
  return {
    get: (key) => storage.getItem(key),
    set: (key, value) => storage.setItem(key, value),
    remove: (key) => storage.removeItem(key),
  };
}
