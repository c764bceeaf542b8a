#!/usr/bin/env python3
"""PyTorch CPU as a peer for the gradmix benchmark: what a CPU-only user would otherwise get.

Protocol (one JSON object per line): prints {"ready": true, "torch": ..., "threads": ...} first,
then answers each request {"id", "spec", "warmup", "repeats", "min_repeats", "budget_ms"} on stdin
with {"id", "ms", "repeats", "threads", "cpu_ms"} (median wall-clock milliseconds; cpu_ms: median
CPU time of the one-thread runs, time.thread_time, which other processes' load does not inflate)
or {"id", "error"}. The specs are bench/family.ts's PeerSpec: matmul, conv2d (forward /
input-grad / weight-grad through aten.convolution_backward, as autograd calls it), batchnorm,
contrastive, adam, knn, train-step (the SupCon ResNet of docs/TRAINING.md section 1, SupCon + SimCLR,
backward, Adam; with method gradmix also LayerCAM, the paste and the mixed view's term). Inputs are
made once per request and are not timed.

Threads: each request is timed with 1 thread and with every core, and the faster median is
reported (what a user would pick). On a machine shared with other work, OpenMP's barriers stall
whenever one of its threads is descheduled (medians of 30 ms for a 0.07 ms batch norm were seen),
so the single-thread figure is often the better one there. GRADMIX_BENCH_TORCH_THREADS=n fixes n.
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

FIXED_THREADS = os.environ.get("GRADMIX_BENCH_TORCH_THREADS")
THREADS = [int(FIXED_THREADS)] if FIXED_THREADS else sorted({1, os.cpu_count() or 1})
torch.manual_seed(0)


def matmul(s):
    a = torch.randn(s["K"], s["M"]) if s["transA"] else torch.randn(s["M"], s["K"])
    b = torch.randn(s["N"], s["K"]) if s["transB"] else torch.randn(s["K"], s["N"])
    opa = a.t() if s["transA"] else a
    opb = b.t() if s["transB"] else b
    return lambda: torch.matmul(opa, opb)


def conv2d(s):
    k, stride, pad = s["k"], s["stride"], s["pad"]
    x = torch.randn(s["batch"], s["cin"], s["h"], s["w"])
    w = torch.randn(s["cout"], s["cin"], k, k)
    oh = (s["h"] + 2 * pad - k) // stride + 1
    ow = (s["w"] + 2 * pad - k) // stride + 1
    dy = torch.randn(s["batch"], s["cout"], oh, ow)
    if s["pass"] == "forward":
        return lambda: F.conv2d(x, w, stride=stride, padding=pad)
    mask = [True, False, False] if s["pass"] == "input-grad" else [False, True, False]
    return lambda: torch.ops.aten.convolution_backward(
        dy, x, w, None, [stride, stride], [pad, pad], [1, 1], False, [0, 0], 1, mask)


def batchnorm(s):
    c = s["shape"][1]
    x = torch.randn(*s["shape"], requires_grad=s["pass"] == "backward")
    weight = torch.ones(c, requires_grad=True)
    bias = torch.zeros(c, requires_grad=True)
    rm, rv = torch.zeros(c), torch.ones(c)

    def forward():
        y = F.batch_norm(x, rm, rv, weight, bias, training=True, momentum=0.1, eps=1e-5)
        return F.relu(y) if s["relu"] else y

    if s["pass"] == "forward":
        return lambda: forward()
    y = forward()
    g = torch.randn_like(y)
    return lambda: torch.autograd.grad(y, [x, weight, bias], g, retain_graph=True)


def supcon_simclr(n, tau, labels):
    """theta * SupCon + lambda * SimCLR (both 1) on z [2n, d] (rows i and i + n: two views of image i)."""
    eye = torch.eye(2 * n, dtype=torch.bool)
    pos = (labels[:, None] == labels[None, :]) & ~eye
    partner = torch.arange(2 * n).roll(n)

    def loss(z):
        logits = (z @ z.t()) / tau
        logits = logits.masked_fill(eye, float("-inf"))
        logp = logits - torch.logsumexp(logits, dim=1, keepdim=True)
        supcon = -(logp.masked_fill(~pos, 0).sum(1) / pos.sum(1).clamp(min=1))
        simclr = -logp[torch.arange(2 * n), partner]
        return (supcon + simclr).mean()

    return loss


def contrastive(s):
    n, d, tau = s["n"], s["d"], s["tau"]
    z = F.normalize(torch.randn(2 * n, d), dim=1).requires_grad_(s["pass"] == "backward")
    objective = supcon_simclr(n, tau, torch.randint(0, 10, (n,)).repeat(2))

    def loss():
        return objective(z)

    if s["pass"] == "forward":
        return loss
    out = loss()
    return lambda: torch.autograd.grad(out, [z], retain_graph=True)


def adam(s):
    params = [torch.randn(*shape, requires_grad=True) for shape in s["shapes"]]
    for p in params:
        p.grad = torch.randn_like(p)
    opt = torch.optim.Adam(params, lr=1e-3)
    return opt.step


def knn(s):
    train = F.normalize(torch.randn(s["train"], s["d"]), dim=1)
    test = F.normalize(torch.randn(s["test"], s["d"]), dim=1)
    bounds = torch.linspace(0, s["train"], s["classes"] + 1).long().tolist()

    def score():
        sims = test @ train.t()
        d = torch.stack([sims[:, a:b].topk(s["k"], dim=1).values.sum(1) for a, b in zip(bounds, bounds[1:])], dim=1)
        return d.max(1).values / d.sum(1), d.argmax(1)

    return score


class Block(torch.nn.Module):
    """resnet_big.py's BasicBlock (expansion 1) or Bottleneck (expansion 4)."""

    def __init__(self, inp, planes, stride, bottleneck):
        super().__init__()
        nn = torch.nn
        out = planes * (4 if bottleneck else 1)
        if bottleneck:
            self.body = nn.Sequential(
                nn.Conv2d(inp, planes, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(),
                nn.Conv2d(planes, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(),
                nn.Conv2d(planes, out, 1, bias=False), nn.BatchNorm2d(out))
        else:
            self.body = nn.Sequential(
                nn.Conv2d(inp, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(),
                nn.Conv2d(planes, planes, 3, 1, 1, bias=False), nn.BatchNorm2d(planes))
        self.shortcut = nn.Sequential()
        if stride != 1 or inp != out:
            self.shortcut = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        return F.relu(self.body(x) + self.shortcut(x))


ARCHS = {"resnet18": (False, [2, 2, 2, 2]), "resnet34": (False, [3, 4, 6, 3]), "resnet50": (True, [3, 4, 6, 3])}


def supcon_resnet(arch, width, channels, feat_dim=128):
    """The CIFAR ResNet (3x3 stem, no max-pool) with the projection head, L2-normalised output."""
    nn = torch.nn
    bottleneck, blocks = ARCHS[arch]
    layers = [nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    inp = width
    for stage, count in enumerate(blocks):
        for b in range(count):
            layers.append(Block(inp, width * 2 ** stage, 2 if b == 0 and stage > 0 else 1, bottleneck))
            inp = width * 2 ** stage * (4 if bottleneck else 1)
    encoder = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    head = nn.Sequential(nn.Linear(inp, inp), nn.ReLU(), nn.Linear(inp, feat_dim))
    return nn.Sequential(encoder, head)


def cam_blocks(arch):
    """Positions in the encoder's Sequential of the last block of stages 2, 3 and 4 (GradMix's
    default LayerCAM layers, layer2.1, layer3.1 and layer4.1 for resnet18; docs/TRAINING.md section 3)."""
    _, blocks = ARCHS[arch]
    ends = [3 + sum(blocks[: stage + 1]) - 1 for stage in range(len(blocks))]
    return set(ends[1:])


def encode(model, x, keep):
    """The model's forward, returning its output and the outputs of the encoder modules at `keep`."""
    encoder, head = model[0], model[1]
    acts = []
    h = x
    for i, m in enumerate(encoder):
        h = m(h)
        if i in keep:
            acts.append(h)
    return head(h), acts


def layercam(acts, grads, size):
    """The aggregated LayerCAM map [n, size, size]: per layer ReLU(sum_c ReLU(G) A), min-max per image,
    bilinear (half-pixel) upsampling, summed over layers."""
    total = None
    for a, g in zip(acts, grads):
        m = F.relu((F.relu(g) * a).sum(1))
        lo = m.amin(dim=(1, 2), keepdim=True)
        hi = m.amax(dim=(1, 2), keepdim=True)
        m = F.interpolate(((m - lo) / (hi - lo + 1e-8)).unsqueeze(1), size=(size, size), mode="bilinear", align_corners=False)
        total = m if total is None else total + m
    return total.squeeze(1)


def gradmix_paste(view1, partner, centres, gamma):
    """GradMix's paste, batched: box sides round(gamma * H) centred on each map's argmax, shifted
    inside the image; the partner's whole image resized bilinearly (half-pixel) into the box.
    Returns the mixed images and the weights gamma^2."""
    n, _, size, _ = view1.shape
    side = torch.round(gamma * size).clamp(min=1)
    cy = torch.div(centres, size, rounding_mode="floor")
    cx = centres.remainder(size)
    top = (cy - torch.div(side, 2, rounding_mode="floor")).clamp(min=0)
    top = torch.minimum(top, size - side)
    left = (cx - torch.div(side, 2, rounding_mode="floor")).clamp(min=0)
    left = torch.minimum(left, size - side)
    pix = torch.arange(size, dtype=view1.dtype) + 0.5
    # Normalised source coordinates of each output row / column inside the box (grid_sample,
    # align_corners=False: the same sampling points as interpolate to the box's size).
    gy = 2 * (pix[None, :] - top[:, None]) / side[:, None] - 1
    gx = 2 * (pix[None, :] - left[:, None]) / side[:, None] - 1
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)
    pasted = F.grid_sample(view1[partner], grid, mode="bilinear", padding_mode="border", align_corners=False)
    inside = ((gy.abs() < 1)[:, :, None] & (gx.abs() < 1)[:, None, :]).unsqueeze(1)
    return torch.where(inside, pasted, view1), gamma * gamma


def simclr_per_anchor(z, n, tau):
    """SimCLR's per-anchor loss of z [2n, d] (rows i and i + n: the two views of image i)."""
    eye = torch.eye(2 * n, dtype=torch.bool)
    logits = ((z @ z.t()) / tau).masked_fill(eye, float("-inf"))
    logp = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return -logp[torch.arange(2 * n), torch.arange(2 * n).roll(n)]


def train_step(s):
    """One step as src/train/step.ts takes it: SupCon + SimCLR on both views; for method gradmix also
    LayerCAM of the batch's SimCLR loss at the last blocks of stages 2-4 (torch.autograd.grad, as
    pytorch-grad-cam's gradients), the batched paste from a random one-cycle derangement (the engine
    draws any derangement: the same gather) into boxes of side
    gamma ~ U(0.1, 0.5) on each map's argmax, and the mixed view's SimCLR against view 2 weighted by
    gamma^2 (docs/TRAINING.md sections 3-4); backward, Adam."""
    n, tau, size = s["batch"], s["tau"], s["size"]
    model = supcon_resnet(s["arch"], s["width"], s["channels"])
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    views = torch.rand(2 * n, s["channels"], size, size)
    objective = supcon_simclr(n, tau, torch.arange(n).remainder(6).repeat(2))
    gradmix = s.get("method", "none") == "gradmix"
    keep = cam_blocks(s["arch"])

    def step():
        opt.zero_grad(set_to_none=True)
        out, acts = encode(model, views, keep) if gradmix else (model(views), [])
        z = F.normalize(out, dim=1)
        loss = objective(z)
        if gradmix:
            grads = torch.autograd.grad(simclr_per_anchor(z, n, tau).mean(), acts, retain_graph=True)
            with torch.no_grad():
                cam = layercam([a[:n] for a in acts], [g[:n] for g in grads], size)
                centres = cam.flatten(1).argmax(1)
                # A random derangement (one cycle through a random order: nobody is their own partner).
                order = torch.randperm(n)
                partner = torch.empty_like(order)
                partner[order] = order.roll(-1)
                gamma = torch.empty(n).uniform_(0.1, 0.5)
                mixed, weight = gradmix_paste(views[:n], partner, centres, gamma)
            zm = F.normalize(model(mixed), dim=1)
            per_anchor = simclr_per_anchor(torch.cat([zm, z[n:]]), n, tau)
            loss = loss + (per_anchor * weight.repeat(2)).mean()
        loss.backward()
        opt.step()

    return step


BUILDERS = {"train-step": train_step, "matmul": matmul, "conv2d": conv2d, "batchnorm": batchnorm, "contrastive": contrastive, "adam": adam, "knn": knn}


def measure_with(req, threads):
    torch.set_num_threads(threads)
    fn = BUILDERS[req["spec"]["kind"]](req["spec"])
    for _ in range(req["warmup"]):
        fn()
    samples, cpu, spent = [], [], 0.0
    while len(samples) < req["repeats"] and (len(samples) < req["min_repeats"] or spent < req["budget_ms"]):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        fn()
        ms = (time.perf_counter() - t0) * 1e3
        cpu.append((time.thread_time() - c0) * 1e3)
        samples.append(ms)
        spent += ms
    return {"ms": statistics.median(samples), "repeats": len(samples), "threads": threads, "cpu_ms": statistics.median(cpu)}


def measure(req):
    runs = [measure_with(req, t) for t in THREADS]
    best = min(runs, key=lambda r: r["ms"])
    # CPU time is only the work's with one thread (with more, the others' share is not counted).
    one = [r["cpu_ms"] for r in runs if r["threads"] == 1]
    return {**best, "cpu_ms": one[0] if one else None}


def serve(measure_request, ready):
    """The protocol: a `ready` line, then one JSON answer line per JSON request line on stdin."""
    print(json.dumps({"ready": True, **ready}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            out = measure_request(req)
        except Exception as e:  # reported per request; the peer keeps serving
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps({"id": req["id"], **out}), flush=True)


def main():
    serve(measure, {"torch": torch.__version__, "threads": THREADS})


if __name__ == "__main__":
    main()
