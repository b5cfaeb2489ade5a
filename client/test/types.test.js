// gatehouse.d.ts is written by hand: these tests keep it naming exactly what gatehouse.js
// exports, and exactly the public members of Gatehouse, so the two cannot drift apart.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import * as gatehouse from '../gatehouse.js';

const require = createRequire(import.meta.url);
const DECLARATIONS = new URL('../gatehouse.d.ts', import.meta.url);

function loadTypeScript() {
  try {
    return require('typescript');
  } catch {
    const reason = 'typescript is not installed: run `npm ci` in client/ (make test-js does)';
    if (process.env.CI === 'true') throw new Error(reason);
    return reason;
  }
}

const ts = loadTypeScript();
const skip = typeof ts === 'string' ? ts : false;

/** Runtime values the declarations export (classes, functions, consts), and Gatehouse's members. */
function declared() {
  const source = ts.createSourceFile('gatehouse.d.ts', readFileSync(DECLARATIONS, 'utf8'), ts.ScriptTarget.Latest, true);
  const values = new Set();
  const members = new Set();
  for (const statement of source.statements) {
    const exported = ts.getModifiers?.(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) continue;
    if (ts.isClassDeclaration(statement) || ts.isFunctionDeclaration(statement)) values.add(statement.name.text);
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) values.add(declaration.name.text);
    }
    if (ts.isClassDeclaration(statement) && statement.name.text === 'Gatehouse') {
      for (const member of statement.members) {
        if (ts.isConstructorDeclaration(member)) continue;
        if (member.name && !ts.isPrivateIdentifier(member.name)) members.add(member.name.text);
      }
    }
  }
  return { values, members };
}

/** Public members of Gatehouse at run time, EventTarget's own included (the .d.ts redeclares two). */
function runtimeMembers() {
  const own = Object.getOwnPropertyNames(gatehouse.Gatehouse.prototype).filter((name) => name !== 'constructor');
  return new Set([...own, 'addEventListener', 'removeEventListener']);
}

test('the declarations export exactly the values the module exports', { skip }, () => {
  assert.deepEqual([...declared().values].sort(), Object.keys(gatehouse).sort());
});

test('the declarations name exactly the public members of Gatehouse', { skip }, () => {
  assert.deepEqual([...declared().members].sort(), [...runtimeMembers()].sort());
});
