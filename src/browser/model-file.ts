// A model from checkpoint bytes in a page (the browser side of src/cli/model-file.ts, which reads
// the file with node:fs): ours carries its training options in the metadata; a PyTorch
// SupContrast state dict gives its width and input channels through encoder.conv1.weight, and
// its arch (resnet18/34/50) through its layer names.
import { applyCheckpoint, decodeCheckpoint, type DecodedCheckpoint } from '../checkpoint/checkpoint.js';
import { SupConResNet, syncBatchCounts } from '../nn/index.js';
import { archOfStateDict, type Arch } from '../nn/resnet.js';
import { Rng } from '../random.js';

export interface LoadedModel {
  model: SupConResNet;
  decoded: DecodedCheckpoint;
  /** The training options stored by `gradmix train` or the demo page, if any. */
  config: Record<string, unknown> | null;
  arch: Arch;
  width: number;
  inChannels: number;
}

/** Builds a SupConResNet of the checkpoint's shape and loads it (in eval mode). */
export async function modelFromCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Promise<LoadedModel> {
  const decoded = decodeCheckpoint(bytes, source);
  const config = decoded.metadata.config ? (JSON.parse(decoded.metadata.config) as Record<string, unknown>) : null;
  const conv1 = decoded.model.get('encoder.conv1.weight');
  if (!conv1) throw new Error(`${source}: no tensor 'encoder.conv1.weight'; expected a SupConResNet state dict (encoder.*, head.*)`);
  const [width, inChannels] = conv1.shape;
  const arch = archOfStateDict(decoded.model.keys());
  const model = new SupConResNet(new Rng(0), { arch, width, inChannels });
  applyCheckpoint(decoded, { model: model.stateDict() });
  await syncBatchCounts(model);
  model.eval();
  return { model, decoded, config, arch, width, inChannels };
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
