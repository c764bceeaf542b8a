// Building a model for a checkpoint file: ours carries its training config in the metadata; a
// PyTorch SupContrast state dict says its width and input channels through encoder.conv1.weight,
// and its arch (resnet18/34/50) through its layer names.
import { readCheckpoint, applyCheckpoint, type DecodedCheckpoint } from '../checkpoint/index.js';
import { SupConResNet, syncBatchCounts } from '../nn/index.js';
import { archOfStateDict, type Arch } from '../nn/resnet.js';
import { Rng } from '../random.js';

export interface LoadedModel {
  model: SupConResNet;
  decoded: DecodedCheckpoint;
  /** The training options stored by `gradmix train`, if any. */
  config: Record<string, unknown> | null;
  arch: Arch;
  width: number;
  inChannels: number;
}

export async function loadModelFile(file: string, given: { width?: number; inChannels?: number } = {}): Promise<LoadedModel> {
  const decoded = await readCheckpoint(file);
  const config = decoded.metadata.config ? (JSON.parse(decoded.metadata.config) as Record<string, unknown>) : null;
  const conv1 = decoded.model.get('encoder.conv1.weight');
  if (!conv1) throw new Error(`${file}: no tensor 'encoder.conv1.weight'; expected a SupConResNet state dict (encoder.*, head.*)`);
  const [w, c] = conv1.shape;
  const width = given.width ?? w;
  const inChannels = given.inChannels ?? c;
  if (width !== w || inChannels !== c) {
    throw new Error(`${file}: encoder.conv1.weight has shape [${conv1.shape.join(', ')}], which means --width ${w} --in-channels ${c}, not ${width} and ${inChannels}`);
  }
  const arch = archOfStateDict(decoded.model.keys());
  // A ce-objective model carries its classifier; its rows are the known classes.
  const numClasses = decoded.model.get('classifier.weight')?.shape[0];
  const model = new SupConResNet(new Rng(0), { arch, width, inChannels, numClasses });
  applyCheckpoint(decoded, { model: model.stateDict() });
  await syncBatchCounts(model);
  return { model, decoded, config, arch, width, inChannels };
}
