// Test page on another origin than the API: exposes gatehouse.js to the browser tests.
import * as gatehouse from '/gatehouse.js';

let tokensToBreak = 0;

/** A client for `api` whose next authenticated request can be made to carry a refused token. */
function makeClient(api) {
  const events = [];
  const client = new gatehouse.Gatehouse({
    baseUrl: api,
    fetch: (url, init) => {
      if (tokensToBreak > 0 && init.headers instanceof Headers && init.headers.has('Authorization')) {
        tokensToBreak -= 1;
        const headers = new Headers(init.headers);
        headers.set('Authorization', 'Bearer not.a.valid-token');
        return fetch(url, { ...init, headers });
      }
      return fetch(url, init);
    },
  });
  for (const name of ['login', 'refresh', 'logout', 'session-expired']) {
    client.addEventListener(name, () => events.push(name));
  }
  return { client, events };
}

window.testPage = { gatehouse, makeClient, breakAccessToken: (count = 1) => { tokensToBreak = count; } };
document.body.dataset.ready = 'true';
