#!/usr/bin/env python3
"""The PyTorch peer's GradMix pieces (bench/peer-torch.py layercam, gradmix_paste) on inputs given as
JSON, for test/peer-torch-gradmix.test.ts: reads {acts, grads (flat lists with their shapes), views,
partner, centres, gamma, size} from argv[1], writes {cam, centres, mixed, weight} to argv[2]."""
import importlib.util
import json
import os
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("peer_torch", os.path.join(here, "..", "bench", "peer-torch.py"))
peer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer)

with open(sys.argv[1]) as f:
    given = json.load(f)
t = lambda x: torch.tensor(x["data"], dtype=torch.float32).reshape(x["shape"])
cam = peer.layercam([t(a) for a in given["acts"]], [t(g) for g in given["grads"]], given["size"])
mixed, weight = peer.gradmix_paste(
    t(given["views"]),
    torch.tensor(given["partner"]),
    torch.tensor(given["centres"]),
    torch.tensor(given["gamma"], dtype=torch.float32),
)
with open(sys.argv[2], "w") as f:
    json.dump({"cam": cam.flatten().tolist(), "centres": cam.flatten(1).argmax(1).tolist(), "mixed": mixed.flatten().tolist(), "weight": weight.tolist()}, f)
