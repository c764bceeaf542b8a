#!/usr/bin/env python3
"""The project's PyTorch peer (bench/peer-torch.py) on CUDA, for the device kit.

run.sh points GRADMIX_BENCH_PYTHON at a wrapper that runs this file with the path of peer-torch.py
(bench/torch-client.ts passes it as the first argument). Where torch sees a CUDA device, every
tensor and module the peer's builders make lands on it (torch.set_default_device), each timed call
ends with torch.cuda.synchronize() (so the peer's wall-clock median is the GPU's time, as fair as
our side's queue time), cuDNN picks its fastest algorithms (cudnn.benchmark, as our side autotunes),
and the reported figure is fp32 with TF32 off; the same request is timed again with TF32 on, and
both go as one JSON line per request to GRADMIX_TORCH_CUDA_LOG (the kit writes torch-cuda.jsonl
beside the benchmark's JSON), with the precision settings in force for each. Without CUDA it is
the plain CPU peer, unless GRADMIX_TORCH_REQUIRE_CUDA=1 (run.sh --expect nvidia sets it): then it
exits saying why, so a CPU figure is never reported as PyTorch CUDA. Same protocol as
peer-torch.py.
"""
import importlib.util
import json
import os
import sys

# torch turns TF32 on for cuBLAS whatever allow_tf32 says when this is set (read when torch loads);
# the reported figure must be fp32, so it goes before torch is imported. What is left is logged.
OVERRIDE = "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"
os.environ.pop(OVERRIDE, None)

import torch  # noqa: E402

spec = importlib.util.spec_from_file_location("peer_torch", sys.argv[1])
peer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer)

CUDA = torch.cuda.is_available()
LOG = os.environ.get("GRADMIX_TORCH_CUDA_LOG")
# bench/run.ts's tag for this call; with each request's id it joins a log line to its row.
CALL = os.environ.get("GRADMIX_TORCH_CALL")


def set_tf32(on):
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def precision():
    """The fp32 settings in force, as torch reports them (newer torch also has fp32_precision), and
    the TF32 overrides of the environment (bench/device/part-bench.ts tf32Off reads them)."""
    found = {
        "matmul_allow_tf32": getattr(torch.backends.cuda.matmul, "allow_tf32", None),
        "cudnn_allow_tf32": getattr(torch.backends.cudnn, "allow_tf32", None),
        "float32_matmul_precision": torch.get_float32_matmul_precision() if hasattr(torch, "get_float32_matmul_precision") else None,
        "fp32_precision": getattr(torch.backends, "fp32_precision", None),
        "matmul_fp32_precision": getattr(torch.backends.cuda.matmul, "fp32_precision", None),
        "cudnn_fp32_precision": getattr(torch.backends.cudnn, "fp32_precision", None),
        "cudnn_conv_fp32_precision": getattr(getattr(torch.backends.cudnn, "conv", None), "fp32_precision", None),
        "tf32_override_env": os.environ.get(OVERRIDE),
        # 0 forces TF32 off in the NVIDIA libraries (then TF32 on times as fp32; tf32Near flags it).
        "nvidia_tf32_override_env": os.environ.get("NVIDIA_TF32_OVERRIDE"),
    }
    return {k: v for k, v in found.items() if isinstance(v, (bool, str))}


def synchronized(build):
    def builder(s):
        fn = build(s)

        def call():
            out = fn()
            torch.cuda.synchronize()
            return out

        return call

    return builder


def measure(req):
    """fp32 (TF32 off) is the answer; TF32 on is timed after it and logged beside it."""
    set_tf32(False)
    strict = peer.measure_with(req, 1)
    # thread_time around torch.cuda.synchronize() counts its spin-wait: not the work's CPU time.
    strict["cpu_ms"] = None
    if LOG:
        entry = {"call": CALL, "id": req.get("id"), "spec": req["spec"], "fp32_ms": strict["ms"], "repeats": strict["repeats"], "fp32_settings": precision()}
        try:
            set_tf32(True)
            entry["tf32_ms"] = peer.measure_with(req, 1)["ms"]
            entry["tf32_settings"] = precision()
        except Exception as e:  # the strict figure stands; say why the TF32 one is missing
            entry["tf32_error"] = f"{type(e).__name__}: {e}"
        finally:
            set_tf32(False)
        with open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")
    return strict


def main():
    if not CUDA:
        if os.environ.get("GRADMIX_TORCH_REQUIRE_CUDA") == "1":
            print(f"torch {torch.__version__} sees no CUDA device; refusing to stand in for PyTorch CUDA on the CPU", file=sys.stderr)
            sys.exit(3)
        peer.main()
        return
    torch.set_default_device("cuda")
    torch.backends.cudnn.benchmark = True
    for kind, build in list(peer.BUILDERS.items()):
        peer.BUILDERS[kind] = synchronized(build)
    name = torch.cuda.get_device_name(0)
    peer.serve(measure, {"torch": f"{torch.__version__} CUDA on {name}, fp32 with TF32 off", "threads": [1]})


if __name__ == "__main__":
    main()
