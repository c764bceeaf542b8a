// A model from checkpoint bytes in a page (src/cli/model-file.ts reads a file with node:fs); the
// model is built as src/checkpoint/model-from-checkpoint.ts describes, the same for both. A
// checkpoint written by `gradmix train` after its evaluation also holds the open-set recogniser
// (gallery and threshold, src/osr/open-set-model.ts), which the page then gets too.
import { decodeCheckpoint } from '../checkpoint/checkpoint.js';
import { modelFromDecoded, type LoadedModel } from '../checkpoint/model-from-checkpoint.js';
import { OPENSET_METADATA, OpenSetModel } from '../osr/open-set-model.js';

export interface PageModel extends LoadedModel {
  /** The checkpoint's open-set recogniser (its `model` is this one's), or null when it holds none. */
  recogniser: OpenSetModel | null;
}

/** Builds a SupConResNet of the checkpoint's shape and loads it (in eval mode), with its open-set recogniser if it has one. */
export async function modelFromCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Promise<PageModel> {
  const decoded = decodeCheckpoint(bytes, source);
  const loaded = await modelFromDecoded(decoded, source);
  if (decoded.metadata[OPENSET_METADATA] === undefined) {
    loaded.model.eval();
    return { ...loaded, recogniser: null };
  }
  // The recogniser builds the same model from the same tensors; keep one.
  let recogniser: OpenSetModel;
  try {
    recogniser = await OpenSetModel.fromCheckpoint(decoded, source);
  } finally {
    loaded.model.dispose();
  }
  return { ...loaded, model: recogniser.model, recogniser };
}

/** Fetches a .safetensors checkpoint and loads it (errors name the URL and the HTTP status). */
export async function fetchModel(url: string): Promise<PageModel> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`could not fetch the checkpoint ${url} (${(err as Error).message})`);
  }
  if (!res.ok) throw new Error(`the checkpoint ${url} answered ${res.status} ${res.statusText}`);
  return modelFromCheckpoint(new Uint8Array(await res.arrayBuffer()), url);
}
