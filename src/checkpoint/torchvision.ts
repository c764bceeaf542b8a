// A torchvision ResNet state dict saved as .safetensors (the README's one-line export from
// PyTorch) as a TorchvisionResNet: the arch from the layer names, the stem width and input
// channels from conv1.weight, the classes from fc.weight. BatchNorm's num_batches_tracked is
// ignored (eval mode never reads it; torchvision's own checkpoints lack it). Errors name the file
// and the tensor that does not fit. Browser-safe: a file is read by torchvision-file.ts (Node).
import { TorchvisionResNet } from '../nn/torchvision-resnet.js';
import { archOfStateDict, type Arch } from '../nn/resnet.js';
import { Rng } from '../random.js';
import { isBatchCounter, loadStateDictInto } from './checkpoint.js';
import type { HostTensor } from './safetensors.js';

/** A gradmix or SupContrast checkpoint (`encoder.*` names) is not a torchvision model: say so. */
function rejectCifarStyle(names: Iterable<string>, source: string): void {
  for (const n of names) {
    if (n.startsWith('encoder.')) {
      throw new Error(
        `${source}: holds a CIFAR-style SupContrast/gradmix ResNet (encoder.* tensors such as '${n}'), not a torchvision ` +
          `ImageNet ResNet (conv1.weight, layer1-4, fc); export one from PyTorch as the README shows`,
      );
    }
  }
}

/** The torchvision arch whose layer names these are (`layerS.B.*`; Bottleneck when a block has conv3). */
export function torchvisionArchOfStateDict(names: Iterable<string>, source = 'state dict'): Arch {
  const list = [...names];
  rejectCifarStyle(list, source);
  try {
    return archOfStateDict(list, '');
  } catch (e) {
    throw new Error(`${source}: not a torchvision resnet18/34/50 state dict: ${(e as Error).message}`);
  }
}

function shapeOf(tensors: ReadonlyMap<string, HostTensor>, name: string, rank: number, source: string): number[] {
  const t = tensors.get(name);
  if (!t) throw new Error(`${source}: no tensor '${name}'; expected a torchvision ResNet state dict (conv1.weight, bn1.*, layer1-4.*, fc.*)`);
  if (t.shape.length !== rank) throw new Error(`${source}: tensor '${name}' has shape [${t.shape.join(', ')}], expected ${rank} dimensions`);
  return t.shape;
}

/**
 * The model a torchvision state dict describes, with its tensors loaded, in eval mode (a frozen
 * backbone; call train() to fine-tune it). `source` (a file or URL) names the state dict in errors.
 */
export function torchvisionResNetFromTensors(tensors: ReadonlyMap<string, HostTensor>, source: string): TorchvisionResNet {
  rejectCifarStyle(tensors.keys(), source);
  const [width, inChannels, kh, kw] = shapeOf(tensors, 'conv1.weight', 4, source);
  if (kh !== 7 || kw !== 7) {
    throw new Error(`${source}: conv1.weight is a ${kh}x${kw} stem; a torchvision ImageNet ResNet has a 7x7 one (is this a CIFAR-style ResNet?)`);
  }
  const arch = torchvisionArchOfStateDict(tensors.keys(), source);
  const [numClasses] = shapeOf(tensors, 'fc.weight', 2, source);
  const model = new TorchvisionResNet(new Rng(0), { arch, width, inChannels, numClasses });
  const target = new Map([...model.stateDict()].filter(([name]) => !isBatchCounter(name)));
  const given = new Map([...tensors].filter(([name]) => !isBatchCounter(name)));
  try {
    loadStateDictInto(target, given, `${source} (torchvision ${arch})`);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model.eval();
}
