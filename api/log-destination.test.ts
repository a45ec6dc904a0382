import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { bufferedStdout } from './log-destination.js';

describe('bufferedStdout', () => {
  it('when a quiet logger writes one short line, then the line reaches the file within the flush interval', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-log-destination-'));
    const file = path.join(dir, 'out.log');
    const fd = fs.openSync(file, 'w');
    try {
      const logger = pino({ name: 'test' }, bufferedStdout(fd));
      logger.info({ n: 1 }, 'one line');
      // Far below the 4 KiB buffer: only the timer writes it.
      expect(fs.readFileSync(file, 'utf8')).toBe('');
      const deadline = Date.now() + 10_000;
      let text = '';
      while (Date.now() < deadline && !text.includes('one line')) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        text = fs.readFileSync(file, 'utf8');
      }
      expect(JSON.parse(text.trim())).toMatchObject({ name: 'test', n: 1, msg: 'one line' });
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
