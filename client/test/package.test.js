// The npm package as an app gets it: `npm pack`, install the tarball into a fresh project
// (offline: it must need nothing else), import it by name, and type-check against it.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLIENT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(CLIENT, 'node_modules', 'typescript', 'bin', 'tsc');

function run(command, args, cwd) {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function typescriptMissing() {
  try {
    readFileSync(TSC);
    return false;
  } catch {
    const reason = 'typescript is not installed: run `npm ci` in client/ (make test-js does)';
    if (process.env.CI === 'true') throw new Error(reason);
    return reason;
  }
}

describe('npm package', () => {
  let work;
  let packed;
  let app;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'gatehouse-pack-'));
    [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], CLIENT));
    app = join(work, 'app');
    cpSync(join(CLIENT, 'types-check'), join(app, 'src'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'some-app', private: true, type: 'module' }));
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(work, packed.filename)], app);
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  test('the tarball holds the module, its types, its licence and package.json, nothing else', () => {
    assert.deepEqual(packed.files.map((f) => f.path).sort(), ['LICENSE', 'gatehouse.d.ts', 'gatehouse.js', 'package.json']);
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules', 'gatehouse-client', 'package.json'), 'utf8'));
    assert.equal(manifest.dependencies, undefined, 'no runtime dependencies');
  });

  test('the installed package imports by name and works', () => {
    writeFileSync(
      join(app, 'main.js'),
      `import { Gatehouse, GatehouseError, localStorageAdapter } from 'gatehouse-client';
      const fakeFetch = async (url, init) => url.endsWith('/auth/token')
        ? Response.json({ access_token: 'at', token_type: 'Bearer', expires_in: 900, refresh_token: 'rt', device_token: 'dt' })
        : Response.json({ url, authorization: new Headers(init.headers).get('Authorization') });
      const auth = new Gatehouse({ baseUrl: 'https://api.example.test', fetch: fakeFetch });
      await auth.login('demo', 'secret');
      const answer = await (await auth.fetch('/notes')).json();
      console.log(JSON.stringify({ answer, error: new GatehouseError('x').name, adapter: typeof localStorageAdapter }));`,
    );
    assert.deepEqual(JSON.parse(run(process.execPath, ['main.js'], app)), {
      answer: { url: 'https://api.example.test/notes', authorization: 'Bearer at' },
      error: 'GatehouseError',
      adapter: 'function',
    });
  });

  test('only the entry point is exported: deep imports are refused', () => {
    writeFileSync(join(app, 'deep.js'), "import 'gatehouse-client/gatehouse.js';");
    assert.throws(() => run(process.execPath, ['deep.js'], app), /ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });

  test('a strict TypeScript app type-checks against the installed declarations', { skip: typescriptMissing() }, () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true, noEmit: true, target: 'ES2022', lib: ['ES2022', 'DOM'],
          module: 'NodeNext', moduleResolution: 'NodeNext', types: [],
        },
        files: ['src/usage.ts'],
      }),
    );
    // Without the package's declarations strict mode refuses the import (TS7016), and the
    // @ts-expect-error lines in usage.ts fail unless the types really refuse those calls.
    try {
      run(process.execPath, [TSC, '-p', 'tsconfig.json'], app);
    } catch (error) {
      assert.fail(`tsc found errors:\n${error.stdout}${error.stderr}`);
    }
  });
});
