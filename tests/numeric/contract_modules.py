"""Small hand-written modules that follow the generated-module contract.

They let the runtime and the checker be tested independently of the code
generator (an independent oracle), and give the mutation tests source text
whose faults are known.  ``source(topic)`` is the text, ``module(topic)`` the
loaded module object.
"""

from __future__ import annotations

from gradproof.numeric.mutation import load_source

_HEAD = "import numpy as np\n"

SOURCES = {
    "affine": """
TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "affine", "module", ("W", "b"), {}, (), True
def forward(z, W, b):
    return z @ W + b
def backward(delta, z, W, b):
    return delta @ W.T, {"W": z.T @ delta, "b": delta.sum(axis=0)}
""",
    "linear": """
TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "linear", "module", ("W",), {}, (), True
SHAPES = {"W": ("n", "K")}
def forward(z, W):
    return z @ W
def backward(delta, z, W):
    return delta @ W.T, {"W": z.T @ delta}
""",
    "tanh": """
TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "tanh", "module", (), {}, (), True
def forward(z):
    return np.tanh(z)
def backward(delta, z):
    t = np.tanh(z)
    return delta * (1 - t * t), {}
""",
    "sigmoid": """
TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "sigmoid", "module", (), {}, (), True
def forward(z):
    return 1 / (1 + np.exp(-z))
def backward(delta, z):
    s = 1 / (1 + np.exp(-z))
    return delta * s * (1 - s), {}
""",
    "relu": """
TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "relu", "module", (), {}, (0.0,), False
def forward(z):
    return np.maximum(z, 0)
def backward(delta, z):
    return delta * (z > 0), {}
""",
    "leaky_relu": """
TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "leaky_relu", "module", (), {"alpha": 0.01}, (0.0,), False
def forward(z, alpha=0.01):
    return np.where(z > 0, z, alpha * z)
def backward(delta, z, alpha=0.01):
    return delta * np.where(z > 0, 1.0, alpha), {}
""",
    "softmax": """
TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "softmax", "module", (), {}, (), True
def forward(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
def backward(delta, z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    s = e / e.sum(axis=1, keepdims=True)
    return s * (delta - (delta * s).sum(axis=1, keepdims=True)), {}
""",
    "softmax_cross_entropy": """
TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "softmax_cross_entropy", "loss", (), {}, (), True
TARGET = "onehot"
def forward(z, y):
    c = z.max(axis=1, keepdims=True)
    lse = c[:, 0] + np.log(np.exp(z - c).sum(axis=1))
    return (lse - (y * z).sum(axis=1)).sum() / z.shape[0]
def backward(z, y):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True) - y) / z.shape[0]
""",
    "sigmoid_bce": """
TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "sigmoid_bce", "loss", (), {}, (), False
TARGET = "binary"
def forward(z, y):
    return float((np.logaddexp(0, z) - y * z).sum() / z.shape[0])
def backward(z, y):
    return (1 / (1 + np.exp(-z)) - y) / z.shape[0]
""",
    "mse_multi": """
TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "mse_multi", "loss", (), {}, (), True
def forward(z, y):
    return ((y - z) ** 2).sum() / z.shape[0]
def backward(z, y):
    return 2 * (z - y) / z.shape[0]
""",
    "l2_penalty": """
TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "l2_penalty", "penalty", ("W",), {"lam": 0.01}, (), True
def forward(W, lam=0.01):
    return lam * (W * W).sum()
def backward(W, lam=0.01):
    return 2 * lam * W
""",
    "l1_penalty": """
TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "l1_penalty", "penalty", ("W",), {"lam": 0.01}, (0.0,), False
def forward(W, lam=0.01):
    return float(lam * np.abs(W).sum())
def backward(W, lam=0.01):
    return lam * np.sign(W)
""",
    "logistic_regression": """
TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "logistic_regression", "model", ("w",), {}, (), False
TARGET = "binary"
def forward(X, y, w):
    s = X @ w
    return float((np.logaddexp(0, s) - y * s).sum())
def backward(X, y, w):
    return {"w": X.T @ (1 / (1 + np.exp(-(X @ w))) - y)}
""",
}


def source(topic: str) -> str:
    """The source text of a hand-written contract module."""
    return _HEAD + SOURCES[topic].lstrip("\n")


def module(topic: str):
    """The hand-written module object of ``topic``."""
    return load_source(source(topic), f"handmade_{topic}")


def all_modules() -> dict:
    """``{topic: module}`` for every hand-written module (a ``modules=`` map for networks)."""
    return {t: module(t) for t in SOURCES}
