// A real one-node Slurm runs a sweep plan as a job array through sbatch (the scripts of
// `gradmix sweep slurm`, src/sweep/schedulers.ts), then the report has every run. Skipped, saying
// why, where the daemons are not installed or the test is not root.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { sweepCommand } from '../src/cli/sweep-command.js';

const test = suite('sweep-slurm');
const TINY = ['--protocol', 'mnist-mini', '--width', '2', '--batch', '8', '--max-train', '16', '--epochs', '1', '--quiet'];

// A real one-node Slurm (munged, slurmctld, slurmd from Debian's munge and slurm-wlm, which
// `npm run setup` installs as root on Debian), private to a temp folder: the tiny plan's job array
// through sbatch, then the report.
const SBIN = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
const which = (bin: string) => SBIN.map((d) => join(d, bin)).find((f) => existsSync(f));
function slurmSkipReason(): string | null {
  if (process.env.GRADMIX_SKIP_SLURM === '1') return 'GRADMIX_SKIP_SLURM=1';
  const missing = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'sinfo'].filter((b) => !which(b));
  if (missing.length) return `${missing.join(', ')} not installed (npm run setup installs munge and slurm-wlm on Debian as root)`;
  if (process.getuid?.() !== 0) return 'not root (slurmd runs the jobs as root here)';
  return null;
}

function slurmConf(t: string, host: string, port: number): string {
  return (
    [
      'ClusterName=gradmix',
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${port}`,
      `SlurmdPort=${port + 1}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      `AuthInfo=socket=${t}/munge.sock`,
      'CredType=cred/munge',
      `StateSaveLocation=${t}/state`,
      `SlurmdSpoolDir=${t}/spool`,
      `SlurmctldPidFile=${t}/slurmctld.pid`,
      `SlurmdPidFile=${t}/slurmd.pid`,
      `SlurmctldLogFile=${t}/slurmctld.log`,
      `SlurmdLogFile=${t}/slurmd.log`,
      // No cgroups, accounting or MPI: the least a container runs.
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'SchedulerType=sched/builtin',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'ReturnToService=2',
      'MpiDefault=none',
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN`,
      'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
    ].join('\n') + '\n'
  );
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  const child = spawn(which(bin)!, args, { env, timeout: timeoutMs });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  return new Promise((done) => child.on('close', (code) => done({ code, out })));
}

const skip = slurmSkipReason();
if (skip) console.log(`sweep: the real Slurm test is skipped: ${skip}`);
(skip ? test.skip : test)('slurm: a one-node Slurm runs the plan as a job array through sbatch; the report has every run', async () => {
  const t = mkdtempSync(join(tmpdir(), 'gradmix-slurm-'));
  const key = join(t, 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o400 });
  mkdirSync(join(t, 'state'));
  mkdirSync(join(t, 'spool'));
  const conf = join(t, 'slurm.conf');
  writeFileSync(conf, slurmConf(t, hostname().split('.')[0], 20000 + Math.floor(Math.random() * 20000) * 2));
  const env = { ...process.env, SLURM_CONF: conf, GRADMIX_AUTOTUNE: '0' };
  const daemons: ChildProcess[] = [];
  const start = (bin: string, args: string[]) => daemons.push(spawn(which(bin)!, args, { env, stdio: 'ignore' }));
  try {
    start('munged', ['-F', '-f', `--socket=${t}/munge.sock`, `--key-file=${key}`, `--log-file=${t}/munged.log`, `--pid-file=${t}/munged.pid`, `--seed-file=${t}/munged.seed`]);
    start('slurmctld', ['-D', '-i', '-f', conf]);
    start('slurmd', ['-D', '-f', conf]);
    let state = '';
    for (let i = 0; i < 60 && !/idle/.test(state); i++) {
      await new Promise((r) => setTimeout(r, 500));
      state = (await run('sinfo', ['-h', '-o', '%t'], env, 5000)).out;
    }
    assert.match(state, /idle/, `the node did not come up: ${state}\n${existsSync(join(t, 'slurmctld.log')) ? readFileSync(join(t, 'slurmctld.log'), 'utf8').slice(-2000) : ''}`);
    const out = join(t, 'slurm-sweep');
    await sweepCommand(['plan', ...TINY, '--splits', '0,1', '--methods', 'none,gradmix', '--out', out]);
    await sweepCommand(['slurm', join(out, 'plan.jsonl'), '--gpus-per-task', '0', '--time', '00:10:00']);
    const job = await run('sbatch', ['--wait', join(out, 'sweep.sbatch')], env, 300_000);
    assert.is(
      job.code,
      0,
      `${job.out}\n${readdirSync(join(out, 'slurm-logs'))
        .map((f) => readFileSync(join(out, 'slurm-logs', f), 'utf8').slice(-1500))
        .join('\n')}`,
    );
    assert.is(readdirSync(join(out, 'slurm-logs')).filter((f) => /^\d+_[0-3]\.out$/.test(f)).length, 4, 'a log per array task');
    await sweepCommand(['report', out]);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.equal(
      report.groups.map((g: { method: string; runs: number }) => [g.method, g.runs]),
      [
        ['none', 2],
        ['gradmix', 2],
      ],
    );
    assert.equal(report.missing, []);
  } finally {
    for (const d of daemons.reverse()) {
      if (d.exitCode === null && d.signalCode === null) {
        d.kill('SIGTERM');
        await new Promise((r) => d.once('close', r));
      }
    }
    rmSync(t, { recursive: true, force: true });
  }
});

test.run();
