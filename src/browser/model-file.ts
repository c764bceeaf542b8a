// A model from checkpoint bytes in a page (src/cli/model-file.ts reads a file with node:fs); the
// model is built as src/checkpoint/model-from-checkpoint.ts describes, the same for both.
import { decodeCheckpoint } from '../checkpoint/checkpoint.js';
import { modelFromDecoded, type LoadedModel } from '../checkpoint/model-from-checkpoint.js';

/** Builds a SupConResNet of the checkpoint's shape and loads it (in eval mode). */
export async function modelFromCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Promise<LoadedModel> {
  const loaded = await modelFromDecoded(decodeCheckpoint(bytes, source), source);
  loaded.model.eval();
  return loaded;
}

/** Fetches a .safetensors checkpoint and loads it (errors name the URL and the HTTP status). */
export async function fetchModel(url: string): Promise<LoadedModel> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`could not fetch the checkpoint ${url} (${(err as Error).message})`);
  }
  if (!res.ok) throw new Error(`the checkpoint ${url} answered ${res.status} ${res.statusText}`);
  return modelFromCheckpoint(new Uint8Array(await res.arrayBuffer()), url);
}
