// The mobile example's own modules (client/examples/capacitor/www): which API it talks to,
// and where it keeps the session on each platform. The browser tests run the whole app.

import assert from 'node:assert/strict';
import { register } from 'node:module';
import { afterEach, describe, test } from 'node:test';

import { API_BASE_URL, apiBaseUrl } from '../examples/capacitor/www/config.js';
import { chooseStorage } from '../examples/capacitor/www/storage.js';

// In a Capacitor app the bundler resolves the secure-storage plugin's npm name; here a
// resolve hook points that name at a stand-in with the plugin's API (getItem, setItem,
// removeItem, setKeyPrefix, setDefaultKeychainAccess), which the test fills in.
const PLUGIN = '@aparajita/capacitor-secure-storage';
const standIn = `data:text/javascript,${encodeURIComponent(
  'export const SecureStorage = globalThis.capacitorSecureStorage;'
    + ' export const KeychainAccess = { whenUnlocked: 0, whenUnlockedThisDeviceOnly: 1 };',
)}`;
register(
  `data:text/javascript,${encodeURIComponent(`export async function resolve(specifier, context, next) {
    return specifier === ${JSON.stringify(PLUGIN)} ? { url: ${JSON.stringify(standIn)}, shortCircuit: true } : next(specifier, context);
  }`)}`,
);

describe('example config', () => {
  const at = (href) => apiBaseUrl(new URL(href));

  test('?api= picks the API on a page served from this machine', () => {
    assert.equal(at('http://localhost:3000/?api=http://127.0.0.1:8123/'), 'http://127.0.0.1:8123');
    assert.equal(at('http://127.0.0.1:3000/index.html?api=https://api.example.test/api'), 'https://api.example.test/api');
  });

  test('?api= is ignored on any other host: a link must not send passwords elsewhere', () => {
    assert.equal(at('https://notes.example.test/?api=https://evil.example'), API_BASE_URL);
  });

  test('only http(s) URLs are taken; without ?api= the configured API', () => {
    assert.equal(at('http://localhost:3000/?api=javascript:alert(1)'), API_BASE_URL);
    assert.equal(at('http://localhost:3000/?api=not a url'), API_BASE_URL);
    assert.equal(at('http://localhost:3000/'), API_BASE_URL);
  });
});

/** A stand-in for cordova-plugin-secure-storage-echo's callback API. */
function fakeCordovaSecureStorage({ lockScreen = true } = {}) {
  const stores = new Map();
  return class SecureStorage {
    constructor(success, failure, namespace) {
      if (!lockScreen) {
        setTimeout(() => failure(new Error('Device is not secure')));
        return;
      }
      this.map = stores.get(namespace) ?? new Map();
      stores.set(namespace, this.map);
      setTimeout(success);
    }
    get(success, failure, key) {
      if (this.map.has(key)) success(this.map.get(key));
      else failure(new Error(`Key [${key}] not found.`));
    }
    set(success, _failure, key, value) {
      this.map.set(key, value);
      success(key);
    }
    remove(success, failure, key) {
      if (this.map.delete(key)) success(key);
      else failure(new Error(`Key [${key}] not found.`));
    }
    static stores = stores;
  };
}

describe('example storage', () => {
  afterEach(() => {
    delete globalThis.cordova;
    delete globalThis.Capacitor;
    delete globalThis.document;
    delete globalThis.sessionStorage;
  });

  function cordova(plugin) {
    globalThis.document = new EventTarget();
    globalThis.cordova = { platformId: 'android', plugins: { SecureStorage: plugin } };
    setTimeout(() => globalThis.document.dispatchEvent(new Event('deviceready')));
  }

  test('in Cordova: the secure-storage plugin, after deviceready, with promises and null for a missing key', async () => {
    const plugin = fakeCordovaSecureStorage();
    cordova(plugin);

    const { adapter, device, label } = await chooseStorage();

    assert.equal(device, 'Cordova android app');
    assert.match(label, /^secure storage/);
    assert.equal(await adapter.get('gatehouse.refresh_token'), null);
    await adapter.set('gatehouse.refresh_token', 'rt-1');
    assert.equal(await adapter.get('gatehouse.refresh_token'), 'rt-1');
    assert.deepEqual([...plugin.stores.get('gatehouse-example')], [['gatehouse.refresh_token', 'rt-1']]);
    await adapter.remove('gatehouse.refresh_token');
    await adapter.remove('gatehouse.refresh_token'); // removing what is not there is fine
    assert.equal(await adapter.get('gatehouse.refresh_token'), null);
  });

  test('in Cordova without a screen lock: memory only, never a readable store', async () => {
    cordova(fakeCordovaSecureStorage({ lockScreen: false }));

    const { adapter, label } = await chooseStorage();

    assert.equal(adapter, null);
    assert.match(label, /^memory only/);
  });

  test('in Cordova without the plugin: a clear error naming it', async () => {
    cordova(undefined);
    await assert.rejects(chooseStorage(), /cordova-plugin-secure-storage-echo/);
  });

  test('in a plain browser (Capacitor on the web too): sessionStorage', async () => {
    const data = new Map();
    globalThis.sessionStorage = {
      getItem: (k) => data.get(k) ?? null,
      setItem: (k, v) => data.set(k, v),
      removeItem: (k) => data.delete(k),
    };
    globalThis.Capacitor = { isNativePlatform: () => false };

    const { adapter, label, device } = await chooseStorage();

    assert.equal(label, 'sessionStorage (browser fallback)');
    assert.equal(device, 'Browser');
    adapter.set('k', 'v');
    assert.deepEqual([...data], [['k', 'v']]);
    assert.equal(adapter.get('k'), 'v');
    adapter.remove('k');
    assert.equal(adapter.get('k'), null);
  });

  test('in a Capacitor app: the keychain/keystore plugin, this device only, under the app prefix', async () => {
    const items = new Map();
    const settings = {};
    globalThis.capacitorSecureStorage = {
      setDefaultKeychainAccess: async (access) => void (settings.access = access),
      setKeyPrefix: async (prefix) => void (settings.prefix = prefix),
      getItem: async (key) => items.get(settings.prefix + key) ?? null,
      setItem: async (key, value) => void items.set(settings.prefix + key, value),
      removeItem: async (key) => void items.delete(settings.prefix + key),
    };
    globalThis.Capacitor = { isNativePlatform: () => true, getPlatform: () => 'ios' };

    const { adapter, label, device } = await chooseStorage();

    assert.equal(device, 'Capacitor ios app');
    assert.match(label, /^secure storage/);
    assert.deepEqual(settings, { access: 1, prefix: 'gatehouse-example_' });
    await adapter.set('gatehouse.refresh_token', 'rt-1');
    assert.deepEqual([...items], [['gatehouse-example_gatehouse.refresh_token', 'rt-1']]);
    assert.equal(await adapter.get('gatehouse.refresh_token'), 'rt-1');
    await adapter.remove('gatehouse.refresh_token');
    assert.equal(await adapter.get('gatehouse.refresh_token'), null);
    delete globalThis.capacitorSecureStorage;
  });
});
