// Attentive CutMix in a page: its torchvision ResNet from .safetensors bytes (fetched or dropped)
// and its mixing code. Both are imported only here, when a page offers the method, so the
// network's builder and the mixing code (in the optional-code chunk) cost other pages nothing.
import { decodeSafetensors } from '../checkpoint/safetensors.js';
import { loadAttention, type AttentionModel } from '../gradmix/attention.js';
import type { TorchvisionResNet } from '../nn/torchvision-resnet.js';

/** The attention model a TrainingSession takes, from a torchvision ResNet state dict's bytes; errors name `source`. */
export async function attentionModelFromBytes(bytes: Uint8Array, source: string): Promise<AttentionModel<TorchvisionResNet>> {
  const { torchvisionResNetFromTensors } = await import('../optional-code.js');
  return loadAttention(torchvisionResNetFromTensors(decodeSafetensors(bytes, source).tensors, source));
}
