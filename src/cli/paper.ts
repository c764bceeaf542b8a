/** The paper's AUROC (%) per protocol, ResNet18, mean of 5 splits (docs/OPEN-SET.md section 6). */
export const PAPER_AUROC: Record<string, number> = {
  mnist: 99.8,
  'mnist-mini': 99.8,
  svhn: 94.7,
  cifar10: 91.33,
  'cifar+10': 98.62,
  'cifar+50': 97.64,
  tinyimagenet: 81.92,
};
