// Shared machinery of the PyTorch golden tests: committed .safetensors fixtures, the generator
// scripts in scripts/fixtures (run only where /usr/bin/python3 has torch), and graph-free readback.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import type { Test } from 'uvu';
import { decodeSafetensors, toNumbers, type HostTensor } from '../src/checkpoint/index.js';
import { noGrad } from '../src/autograd.js';
import { scope } from '../src/scope.js';
import type { Tensor } from '../src/tensor.js';
import { read } from './helpers.js';

/** Absolute path of test/fixtures/<name>. */
export const fixturePath = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** The tensors of a .safetensors file (by default one of test/fixtures). */
export function safetensorsFile(name: string, path = fixturePath(name)): Map<string, HostTensor> {
  return decodeSafetensors(new Uint8Array(readFileSync(path)), name).tensors;
}

/** A named tensor of a fixture as float64 values; a missing name is an error naming it. */
export function goldenValues(tensors: ReadonlyMap<string, HostTensor>, name: string): Float64Array {
  const t = tensors.get(name);
  if (!t) throw new Error(`fixture has no tensor '${name}'`);
  return toNumbers(t, name);
}

const PYTHON = '/usr/bin/python3';

/** Whether the PyTorch side can run here (CI without torch uses the committed fixtures only). */
export const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

/**
 * A test that runs PyTorch on the host (a round trip through Python): skipped where the host has
 * no torch, and then named in globalThis.GRADMIX_HOST_TORCH_SKIPS, so the device kit's suite tells
 * these skips (file interop, no GPU arithmetic) from others, which withhold its verdict.
 */
export function hostTorchTest(test: Test, name: string, fn: () => Promise<void>): void {
  if (hasTorch) return test(name, fn);
  const g = globalThis as { GRADMIX_HOST_TORCH_SKIPS?: string[] };
  (g.GRADMIX_HOST_TORCH_SKIPS ??= []).push(name);
  test.skip(name, fn);
}

/** Runs scripts/fixtures/<script> with arguments and returns its stdout; a failure shows stderr. */
export function runFixtureScript(script: string, args: string[]): string {
  const file = fileURLToPath(new URL(`../scripts/fixtures/${script}`, import.meta.url));
  const py = spawnSync(PYTHON, [file, ...args], { encoding: 'utf8' });
  assert.is(py.status, 0, `${script} ${args[0]} failed:\n${py.stderr}`);
  return py.stdout;
}

/** The values of `run()` computed without recording a graph; the tensors it made are freed. */
export async function valuesOf(run: () => Tensor): Promise<Float64Array> {
  const out = noGrad(() => scope(run));
  try {
    return await read(out);
  } finally {
    out.dispose();
  }
}
