// The reference Python trainer worker (trainers/python/): its virtual environment, made by `npm run setup:python`
// from the pinned requirements, and how `npm start` runs it when that environment exists.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isMain } from '../is-main.js';
import { projectRoot } from './temporal-cli.js';

export const PYTHON_TRAINER_DIR = path.join(projectRoot, 'trainers', 'python');
export const PYTHON_TRAINER_VENV = path.join(PYTHON_TRAINER_DIR, '.venv');
export const PYTHON_TRAINER_PYTHON = path.join(PYTHON_TRAINER_VENV, 'bin', 'python');
/** The task queue the worker polls unless KEEL_TRAINER_TASK_QUEUE says otherwise; a run spec names it. */
export const PYTHON_TRAINER_TASK_QUEUE = 'trainers-python';
export const PYTHON_TRAINERS = ['lightgbm', 'xgboost', 'sklearn:HistGradientBoostingClassifier', 'sklearn:logistic'];

/** Whether `npm run setup:python` has made the worker's environment. */
export function pythonTrainerInstalled(): boolean {
  return existsSync(PYTHON_TRAINER_PYTHON);
}

/** The worker's command line and environment: Keel's Temporal server and artifact store. */
export function pythonTrainerProcess(options: { temporalAddress: string; namespace: string; artifactDir: string; env: NodeJS.ProcessEnv }) {
  return {
    command: PYTHON_TRAINER_PYTHON,
    args: ['-m', 'keel_trainer.worker'],
    cwd: PYTHON_TRAINER_DIR,
    env: {
      ...options.env,
      TEMPORAL_ADDRESS: options.temporalAddress,
      TEMPORAL_NAMESPACE: options.namespace,
      KEEL_ARTIFACT_DIR: options.artifactDir,
      PYTHONUNBUFFERED: '1',
    },
  };
}

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

/** `npm run setup:python`: a virtual environment with the pinned requirements (python3.11, else python3). */
async function setupPythonTrainer(): Promise<void> {
  const python = process.argv[2] ?? (await firstWorking(['python3.11', 'python3']));
  if (!python) throw new Error('no python3.11 or python3 on PATH: install Python 3.10+ (3.11 is what the requirements are pinned on)');
  if (!existsSync(PYTHON_TRAINER_PYTHON)) await run(python, ['-m', 'venv', PYTHON_TRAINER_VENV], PYTHON_TRAINER_DIR);
  await run(PYTHON_TRAINER_PYTHON, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', 'requirements.txt'], PYTHON_TRAINER_DIR);
  process.stdout.write(`the Python trainer worker is ready in ${PYTHON_TRAINER_VENV}; npm start now starts it\n`);
}

async function firstWorking(candidates: string[]): Promise<string | undefined> {
  for (const candidate of candidates) {
    try {
      await run(candidate, ['-c', 'import sys; assert sys.version_info >= (3, 10)'], PYTHON_TRAINER_DIR);
      return candidate;
    } catch {
      // not on PATH, or too old: try the next
    }
  }
  return undefined;
}

if (isMain(import.meta.url)) {
  setupPythonTrainer().catch((error: unknown) => {
    process.stderr.write(`setup:python failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
