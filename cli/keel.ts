// Entry point of `keel` (bin/keel.js loads it through tsx): real stdout/stderr, the process environment, exit code.
import { runCli } from './program.js';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const { KEEL_URL, KEEL_API_KEY, XDG_CONFIG_HOME, HOME } = process.env;
const code = await runCli(process.argv.slice(2), {
  env: { KEEL_URL, KEEL_API_KEY, XDG_CONFIG_HOME, HOME },
  output: {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    isTty: process.stdout.isTTY === true,
  },
  readStdin,
});
process.exitCode = code;
