// Which requests spend a per-key budget, and when event-loop pressure turns requests away.
import { describe, expect, it } from 'vitest';
import { PressureEpisode, rateLimitKind } from './http-protection.js';

const request = (method: string, url: string | undefined) => ({ method, routeOptions: { url } }) as Parameters<typeof rateLimitKind>[0];

describe('rateLimitKind', () => {
  it.each([
    ['POST', '/v1/runs', 'write'],
    ['DELETE', '/v1/schedules/:id', 'write'],
    ['PUT', '/v1/models/:name/policy', 'write'],
    ['POST', '/v1/runs/:id/review', 'review'],
    ['GET', '/v1/runs', null],
    ['POST', '/v1/models/:name/predict', null],
    ['POST', '/v1/models/:name/feedback', null],
    ['GET', '/healthz', null],
    ['POST', undefined, null],
  ])('%s %s → %s', (method, url, kind) => {
    expect(rateLimitKind(request(method, url))).toBe(kind);
  });
});

describe('PressureEpisode', () => {
  it('when one lagging sample passes, then no request is refused; when pressure lasts past a sample, then it is', () => {
    const episode = new PressureEpisode(1_000);
    expect([episode.sustained(0), episode.sustained(400), episode.sustained(900)]).toEqual([false, false, false]);
    // Pressure gone for longer than two samples: a new spike starts a new episode.
    expect(episode.sustained(5_000)).toBe(false);
    expect(episode.sustained(5_600)).toBe(false);
    expect(episode.sustained(6_000)).toBe(true);
    expect(episode.sustained(7_500)).toBe(true);
  });
});
