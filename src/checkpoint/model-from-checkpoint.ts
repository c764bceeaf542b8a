// A SupConResNet for a decoded checkpoint (browser-safe): ours carries its training config in the
// metadata; a PyTorch SupContrast state dict says its width and input channels through
// encoder.conv1.weight, its arch (resnet18/34/50) through its layer names, and a ce-objective
// model its known classes through classifier.weight. Node reads the file (src/cli/model-file.ts),
// a page gets the bytes from fetch() or a dropped file (src/browser/model-file.ts).
import { applyCheckpoint, metadataJson, type DecodedCheckpoint } from './checkpoint.js';
import { SupConResNet, syncBatchCounts } from '../nn/index.js';
import { archOfStateDict, type Arch } from '../nn/resnet.js';
import { Rng } from '../random.js';
import { runConfigOf, type RunConfig } from '../train/run-config.js';

export interface LoadedModel {
  model: SupConResNet;
  decoded: DecodedCheckpoint;
  /** The run that wrote the checkpoint, typed (`gradmix train` or the demo page); null: none, e.g. a PyTorch state dict. */
  config: RunConfig | null;
  arch: Arch;
  width: number;
  inChannels: number;
}

/** The typed configuration a checkpoint's 'config' metadata holds; null when it has none. */
export function checkpointRunConfig(decoded: Pick<DecodedCheckpoint, 'metadata' | 'source'>): RunConfig | null {
  const saved = metadataJson<unknown>(decoded, 'config');
  return saved === null ? null : runConfigOf(saved, `${decoded.source} (metadata 'config')`);
}

/**
 * Builds the model the checkpoint's tensors describe and loads them; `given` width or input
 * channels must agree with the tensors. `source` (a file or URL) names the checkpoint in errors.
 */
export async function modelFromDecoded(decoded: DecodedCheckpoint, source: string, given: { width?: number; inChannels?: number } = {}): Promise<LoadedModel> {
  const config = checkpointRunConfig({ metadata: decoded.metadata, source });
  const conv1 = decoded.model.get('encoder.conv1.weight');
  if (!conv1) throw new Error(`${source}: no tensor 'encoder.conv1.weight'; expected a SupConResNet state dict (encoder.*, head.*)`);
  const [w, c] = conv1.shape;
  const width = given.width ?? w;
  const inChannels = given.inChannels ?? c;
  if (width !== w || inChannels !== c) {
    throw new Error(`${source}: encoder.conv1.weight has shape [${conv1.shape.join(', ')}], which means --width ${w} --in-channels ${c}, not ${width} and ${inChannels}`);
  }
  const arch = archOfStateDict(decoded.model.keys());
  // A ce-objective model carries its classifier; its rows are the known classes.
  const numClasses = decoded.model.get('classifier.weight')?.shape[0];
  const model = new SupConResNet(new Rng(0), { arch, width, inChannels, numClasses });
  try {
    applyCheckpoint(decoded, { model: model.stateDict() });
    await syncBatchCounts(model);
  } catch (e) {
    model.dispose(); // a checkpoint that does not fit leaves nothing on the GPU
    throw e;
  }
  return { model, decoded, config, arch, width, inChannels };
}
