"""A stand-in for torch, for the device kit's dry run only (test/device-kit.test.ts puts this folder
on PYTHONPATH): enough of torch's surface for bench/peer-torch.py to import and for
bench/device/peer-torch-cuda.py to take its CUDA path, so the dry run proves the plumbing that the
GPU run depends on (run.sh finding a python3 with torch, the wrapper loading the peer, the JSON
lines protocol, TF32 off and on, torch-cuda.jsonl). Its figures mean nothing; every operation
returns an inert value. A builder that needs more of torch fails, and that row reports the error.
"""
import sys
import types

__version__ = "0.0-fake"


class Inert:
    """Any attribute, call, index or arithmetic on it gives another Inert."""

    def __getattr__(self, name):
        return Inert()

    def __call__(self, *args, **kwargs):
        return Inert()

    def __getitem__(self, key):
        return Inert()

    def __iter__(self):
        return iter(())

    def _op(self, *other):
        return Inert()

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _op
    __matmul__ = __neg__ = __and__ = __invert__ = __eq__ = _op
    __hash__ = object.__hash__


class _Module(types.ModuleType):
    def __getattr__(self, name):
        return Inert()


class Module:
    """torch.nn.Module as a base class peer-torch.py's Block can derive from."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return Inert()


def _submodule(name, **attrs):
    m = _Module(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


nn = _submodule("torch.nn", Module=Module)
nn.functional = _submodule("torch.nn.functional")
cuda = _submodule("torch.cuda", is_available=lambda: True, synchronize=lambda: None, get_device_name=lambda i=0: "fake GPU (dry run)")
backends = _submodule("torch.backends")
backends.cuda = _submodule("torch.backends.cuda", matmul=Inert())
backends.cudnn = _submodule("torch.backends.cudnn")


def __getattr__(name):
    return Inert()
