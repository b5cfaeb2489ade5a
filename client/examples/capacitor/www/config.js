// Where the API is. Set API_BASE_URL to your deployment (https://... /api) before you
// build the app. The default is `make run`'s local stack.
export const API_BASE_URL = 'http://127.0.0.1:8000';

// Development only: `?api=http://127.0.0.1:8123` in the page's URL picks another API.
// A password typed into this app goes to that server, so the override is honoured only
// on a page served from this machine (a dev server, or the app's own webview, whose URL
// no link from outside can set). Set it to false in a build that runs on a public origin.
export const ALLOW_API_FROM_QUERY = true;

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The API root for a page at `location`. */
export function apiBaseUrl(location) {
  const asked = new URLSearchParams(location.search).get('api');
  if (!asked || !ALLOW_API_FROM_QUERY || !LOCAL_HOSTS.has(location.hostname)) return API_BASE_URL;
  try {
    const url = new URL(asked);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.href.replace(/\/+$/, '');
  } catch {
    // not a URL: ignore it
  }
  return API_BASE_URL;
}
