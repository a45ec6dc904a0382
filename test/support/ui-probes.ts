// Shared by the route × role matrix test and the route fuzz test: calling /ui/ routes as a browser does. A page
// takes no bearer key: the browser signs in at POST /ui/login with an API key and keeps the `keel_session` cookie;
// every form carries the CSRF token its page was rendered with (api/ui/ui-routes.ts).
import fastifyCookie from '@fastify/cookie';
import { expect } from 'vitest';
import type { KeelApp } from '../../api/app.js';
import { sessionCookieSecret, SESSION_COOKIE } from '../../api/ui/ui-session.js';

/** What a browser holds for the pages: its cookies (as one `cookie` header) and a CSRF token valid with them. */
export interface UiBrowser {
  cookie: string;
  csrf: string;
}

export const isUiRoute = (url: string) => url === '/ui' || url.startsWith('/ui/');

/** True for a redirect to the sign-in page: what a /ui/ route answers a request without a valid session. */
export const isSignInRedirect = (status: number, location: unknown) =>
  status >= 300 && status < 400 && typeof location === 'string' && location.startsWith('/ui/login');

function cookiesOf(setCookie: string | string[] | undefined): Map<string, string> {
  const jar = new Map<string, string>();
  for (const line of [setCookie ?? []].flat()) {
    const [pair] = line.split(';');
    const at = pair!.indexOf('=');
    jar.set(pair!.slice(0, at), pair!.slice(at + 1));
  }
  return jar;
}

const cookieHeader = (jar: Map<string, string>) => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');

function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('page has no CSRF token');
  return match[1]!;
}

/** A browser that opened the sign-in page (it holds the CSRF cookie and a token) but has not signed in. */
export async function anonymousBrowser(app: KeelApp): Promise<UiBrowser> {
  const login = await app.inject({ method: 'GET', url: '/ui/login' });
  expect(login.statusCode, login.body).toBe(200);
  return { cookie: cookieHeader(cookiesOf(login.headers['set-cookie'])), csrf: csrfOf(login.body) };
}

/** A browser signed in with the key: the sign-in form as a person fills it, checked to start a session. */
export async function signedInBrowser(app: KeelApp, apiKey: string): Promise<UiBrowser> {
  const login = await app.inject({ method: 'GET', url: '/ui/login' });
  const jar = cookiesOf(login.headers['set-cookie']);
  const csrf = csrfOf(login.body);
  const signIn = await app.inject({
    method: 'POST',
    url: '/ui/login',
    headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ apiKey, next: '/ui/', _csrf: csrf }).toString(),
  });
  expect(signIn.statusCode, signIn.body).toBe(303);
  for (const [name, value] of cookiesOf(signIn.headers['set-cookie'])) jar.set(name, value);
  expect(jar.has(SESSION_COOKIE), 'sign-in set no session cookie').toBe(true);
  return { cookie: cookieHeader(jar), csrf };
}

/** The browser with its session cookie replaced (or removed, for `undefined`), its CSRF cookie kept. */
export function withSessionCookie(browser: UiBrowser, value: string | undefined): UiBrowser {
  const kept = browser.cookie.split('; ').filter((pair) => pair !== '' && !pair.startsWith(`${SESSION_COOKIE}=`));
  return { ...browser, cookie: [...kept, ...(value === undefined ? [] : [`${SESSION_COOKIE}=${value}`])].join('; ') };
}

/** The browser's session cookie value, as sent. */
export function sessionCookieOf(browser: UiBrowser): string {
  const pair = browser.cookie.split('; ').find((candidate) => candidate.startsWith(`${SESSION_COOKIE}=`));
  if (!pair) throw new Error('browser has no session cookie');
  return pair.slice(SESSION_COOKIE.length + 1);
}

/** A cookie value signed with the secret the server derives from `signingKey` (a forger holding it, or a replay). */
export function signedCookie(value: string, signingKey: string): string {
  return encodeURIComponent(fastifyCookie.sign(value, sessionCookieSecret(signingKey)));
}

/**
 * Session cookies that must never sign anyone in: garbled, unsigned, signed with another secret, tampered after
 * signing, and (signed with the server's own secret) expired, naming an unknown key, or not JSON at all.
 */
export function forgedSessionCookies(signingKey: string, realSession: string, keyId: string): [string, string][] {
  const unknownKeyId = '00000000-0000-4000-8000-000000000000';
  const later = Date.now() + 3_600_000;
  const decoded = decodeURIComponent(realSession);
  const dot = decoded.lastIndexOf('.');
  const tampered = `${decoded.slice(0, dot).replace(/"e":\d+/, `"e":${later + 1}`)}${decoded.slice(dot)}`;
  return [
    ['a garbled session cookie', 'not%20a%20session%3B%3B%25zz'],
    ['an unsigned session cookie', encodeURIComponent(JSON.stringify({ k: keyId, e: later }))],
    ['a session cookie signed with another secret', encodeURIComponent(fastifyCookie.sign(JSON.stringify({ k: keyId, e: later }), 'another-secret-0123456789abcdef'))],
    ['a signed session cookie edited after signing', encodeURIComponent(tampered)],
    ['an expired session cookie', signedCookie(JSON.stringify({ k: keyId, e: Date.now() - 1000 }), signingKey)],
    ['a session cookie naming an unknown key', signedCookie(JSON.stringify({ k: unknownKeyId, e: later }), signingKey)],
    ['a session cookie that is not JSON', signedCookie(`${keyId}|${later}`, signingKey)],
    ['an empty session cookie', ''],
  ];
}

/** A form post body with the fields and the CSRF token (`_csrf`), as the page's form sends it. */
export const formBody = (fields: Record<string, string>, csrf: string | undefined) =>
  new URLSearchParams({ ...fields, ...(csrf === undefined ? {} : { _csrf: csrf }) }).toString();
