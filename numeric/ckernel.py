"""A compiled training step for an :class:`~gradproof.numeric.network.MLP`: C generated, compiled, verified.

At a batch of 32 the in-place NumPy step (:mod:`gradproof.numeric.inplace`) is
a score of NumPy calls on small arrays, and the time between them is what it
costs.  This module writes the same step -- forward pass, the fused output
delta, every parameter message, the update ``theta -= alpha grad`` -- as one C
function, compiles it with the system's C compiler and calls it on the
network's own arrays (no copies): through a Python front compiled into the
same object where the interpreter's headers are (the batch read through the
buffer protocol), else through :mod:`ctypes` with one struct argument.

What reaches the C source is fixed text chosen by name from the tables below
(an activation, an output loss, a float type); the layer sizes are integers
passed at the call, so one compiled kernel serves every MLP of that
activation, loss and dtype (a compilation costs about a second; a network
shape does not cost another).  Compiled objects are kept in the cache folder
(``$GRADPROOF_CACHE_DIR``, else the user's cache folder) under a key of the
source, the compiler's version, the flags and the processor's features,
written to a temporary name and renamed, with a SHA-256 beside each: an entry
whose checksum does not match is never loaded, but rebuilt.

The arithmetic is the in-place variants' (``tanh' = 1 - a^2``, ``sigma(s) =
(1 + tanh(s/2)) / 2``, ``relu' = [a > 0]``, the softmax shifted by each row's
maximum); products are register-tiled loops the compiler vectorises, ``tanh``
written out in double precision (see ``_TANH_DOUBLE``; at most 2 ulp) and
glibc's vector versions (libmvec) otherwise.  No ``-ffast-math``: every sum
runs in the order of its loop (a product's terms one ``k`` after another, as
fused multiply-adds), so the kernel differs from NumPy (whose BLAS sums in
blocks) by rounding alone, which the network's construction-time probe bounds
(float64: 1e-10, float32: 1e-4, relative).

A network uses the kernel only when it was built and passed that probe, for
batches of at most :data:`MAX_ROWS` rows (above it BLAS's blocked products
win), unless ``GRADPROOF_COMPILED=0`` or ``MLP(..., compiled=False)``.  A
kernel not in the cache is compiled once the network has taken
:data:`BUILD_AFTER` such steps (at construction with ``compiled=True``).  No
compiler, a failed compilation or a failed probe leave the network on NumPy,
with ``Plan.compiled_reason`` saying why.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from gradproof.numeric import memory

__all__ = [
    "ACTIVATIONS",
    "BUILD_AFTER",
    "LOSSES",
    "MAX_ROWS",
    "Bound",
    "BuildError",
    "Kernel",
    "build",
    "cached",
    "compile_cached",
    "enabled",
    "source",
]

ENV_SWITCH = "GRADPROOF_COMPILED"
ENV_CACHE = "GRADPROOF_CACHE_DIR"

# Batches of at most this many rows run compiled (measured crossover: docs/compiled-step.md).
MAX_ROWS = 512
# A kernel not in the cache yet is compiled (about a second) once a network has taken this many
# steps of at most MAX_ROWS rows: a training loop, not a few steps of a check or an example.
BUILD_AFTER = 1000

# activation -> (forward on z[t] in place, the derivative at the output a multiplied into d: whole vectors V)
ACTIVATIONS = {
    "tanh": ("z[t] = TANH(z[t]);", "d *= 1 - a * a;"),
    "sigmoid": ("z[t] = (TANH(z[t] * (T)0.5) * (T)0.5) + (T)0.5;", "d = d * a * (1 - a);"),
    "relu": ("z[t] = z[t] > 0 ? z[t] : 0;", "d = (V)((M)d & (a > 0));"),
}

# loss -> (what runs over the whole block first, the body filling row i of the output delta d (K
# entries) from logits s and targets y, times c).  The softmax takes every exponential of the block in
# one vectorised loop (rows of ldd entries: the padding columns get exp(0) and are never read back)
LOSSES = {
    "softmax_cross_entropy": (
        """
  for (int i = 0; i < m; i++) {
    const T *restrict s = S + i * lds;
    T *restrict d = D + i * ldd, mx = s[0];
    for (int j = 1; j < K; j++) mx = s[j] > mx ? s[j] : mx;
    for (int j = 0; j < K; j++) d[j] = s[j] - mx;
    for (int j = K; j < ldd; j++) d[j] = 0;
  }
#pragma omp simd
  for (long t = 0; t < m * ldd; t++) D[t] = EXP(D[t]);""",
        """
    T sum = 0;
    (void)s; /* the block's loop above read the logits */
    for (int j = 0; j < K; j++) sum += d[j];
    for (int j = 0; j < K; j++) d[j] = (d[j] / sum - y[j]) * c;""",
    ),
    "sigmoid_bce": (
        "",
        """
    for (int j = 0; j < K; j++) d[j] = ((TANH(s[j] * (T)0.5) * (T)0.5 + (T)0.5) - y[j]) * c;""",
    ),
    "mse_multi": (
        "",
        """
    for (int j = 0; j < K; j++) d[j] = (s[j] - y[j]) * (2 * c);""",
    ),
}

# tanh in double precision, inline: glibc's vector tanh is a call per 8 values and a third of the
# kernel's forward pass.  tanh(x) = sign(x) e / (e + 2) with e = expm1(2|x|), and expm1(y) =
# 2^k (expm1(r) + 1) - 1 for y = k ln2 + r, |r| <= ln2 / 2 (ln2 in two parts, the first with
# trailing zeros, so that k ln2_hi is exact), expm1(r) = r + r^2 p(r) from its Taylor series to
# r^13 (the next term is below 2^-56 of r).  At most 2 ulp from the correctly rounded tanh
# (tests/numeric/test_compiled_step.py measures it against mpmath); |x| is capped at 20, where
# tanh rounds to 1, so that e stays finite; NaN passes through (no comparison holds for it).
_TANH_DOUBLE = r"""#include <stdint.h>
#include <string.h>
static inline __attribute__((always_inline)) double gp_tanh(double x) {
  double a = __builtin_fabs(x);
  a = a > 20.0 ? 20.0 : a;
  double y = a + a;
  const double round = 6755399441055744.0; /* 2^52 + 2^51: adding it rounds y / ln2 into the low bits */
  double t = y * 1.4426950408889634 + round;
  double k = t - round;
  double r = y - k * 6.93147180369123816490e-01;
  r = r - k * 1.90821492927058770002e-10;
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  double em = r + r * r * p;
  uint64_t bits;
  memcpy(&bits, &t, sizeof bits);
  bits = (bits << 52) + 0x3ff0000000000000ULL; /* 2^k: k, from 0 to 58, sits in the low bits of t */
  double s;
  memcpy(&s, &bits, sizeof s);
  double e = s * em + (s - 1.0);
  return __builtin_copysign(e / (e + 2.0), x);
}
"""

_TANH_FLOAT = """#pragma omp declare simd notinbranch
extern float tanhf(float);
"""

# dtype -> (C type, the hidden layers' tanh and its definition or declaration, exp, its buffer format)
TYPES = {
    np.dtype(np.float64): ("double", "gp_tanh", _TANH_DOUBLE, "exp", "d"),
    np.dtype(np.float32): ("float", "tanhf", _TANH_FLOAT, "expf", "f"),
}

_TEMPLATE = r"""/* generated by gradproof.numeric.ckernel: one training step of an MLP (@ACT@ hidden, @LOSS@) in @T@ */
typedef @T@ T;
#define FORMAT '@FORMAT@' /* T's letter in the buffer protocol */
@TANH_DEF@#pragma omp declare simd notinbranch
extern T @EXP@(T);
#define TANH @TANH@
#define EXP @EXP@
#define JB ((int)(128 / sizeof(T))) /* columns per register tile: 2 x 512 or 4 x 256 bits */
#define INL static inline __attribute__((always_inline))

static int padded(int n) { return (n + JB - 1) / JB * JB; }

/* 64-byte vectors (GCC's vector extension: the compiler keeps a tile's accumulators in registers);
   aligned to one element only, so they load from any element */
typedef T V __attribute__((vector_size(64), aligned(sizeof(T))));
typedef __typeof__((V){0} > 0) M; /* a comparison's mask: integers of T's width, all ones where it holds */
#define VL ((int)(64 / sizeof(T)))

/* the activation's derivative at a (its output) times d, on whole vectors */
INL V deriv(V d, V a) {
  @ACT_BACK@
  return d;
}

/* RB rows from row i, columns j0 .. j0 + JB: C = [bias +] sum_k A(r, k) B[k, :]; A(r, k) = A[r sa + k sk];
   with act (a layer's outputs, laid out as C) each entry times the activation's derivative there */
INL void tile(const int RB, int i, int j0, int kk, const T *restrict A, long sa, long sk, const T *restrict B,
              long ldb, const T *restrict bias, T *restrict C, long ldc, int minus, const T *restrict act) {
  V acc[RB][2];
  for (int r = 0; r < RB; r++) {
    acc[r][0] = bias ? *(const V *)(bias + j0) : (V){0};
    acc[r][1] = bias ? *(const V *)(bias + j0 + VL) : (V){0};
  }
  for (int k = 0; k < kk; k++) {
    const T *restrict b = B + k * ldb + j0;
    V b0 = *(const V *)b, b1 = *(const V *)(b + VL);
    for (int r = 0; r < RB; r++) {
      T x = A[(i + r) * sa + k * sk];
      acc[r][0] += x * b0;
      acc[r][1] += x * b1;
    }
  }
  for (int r = 0; r < RB; r++) {
    T *c = C + (i + r) * ldc + j0;
    if (minus) { /* C -= the product, one subtraction per entry (the update theta - grad) */
      *(V *)c -= acc[r][0];
      *(V *)(c + VL) -= acc[r][1];
    } else if (act) {
      const T *a = act + (i + r) * ldc + j0;
      *(V *)c = deriv(acc[r][0], *(const V *)a);
      *(V *)(c + VL) = deriv(acc[r][1], *(const V *)(a + VL));
    } else {
      *(V *)c = acc[r][0];
      *(V *)(c + VL) = acc[r][1];
    }
  }
}

/* C (m x n, n a multiple of JB) = A (m x kk) B (kk x n) [+ bias], or with minus C -= A B, or with act
   C = (A B) act'(act): 8 rows at a time, then 4, then the rest */
static void gemm(int m, int kk, int n, const T *restrict A, long sa, long sk, const T *restrict B, long ldb,
                 const T *restrict bias, T *restrict C, long ldc, int minus, const T *restrict act) {
  int i = 0;
  for (; i + 8 <= m; i += 8)
    for (int j0 = 0; j0 < n; j0 += JB) tile(8, i, j0, kk, A, sa, sk, B, ldb, bias, C, ldc, minus, act);
  for (; i + 4 <= m; i += 4)
    for (int j0 = 0; j0 < n; j0 += JB) tile(4, i, j0, kk, A, sa, sk, B, ldb, bias, C, ldc, minus, act);
  for (int j0 = 0; j0 < n; j0 += JB) {
    if (m - i == 3) tile(3, i, j0, kk, A, sa, sk, B, ldb, bias, C, ldc, minus, act);
    if (m - i == 2) tile(2, i, j0, kk, A, sa, sk, B, ldb, bias, C, ldc, minus, act);
    if (m - i == 1) tile(1, i, j0, kk, A, sa, sk, B, ldb, bias, C, ldc, minus, act);
  }
}

static void activate(T *restrict z, long count) {
#pragma omp simd
  for (long t = 0; t < count; t++) @ACT_FWD@
}

static void delta(int m, int K, const T *restrict S, long lds, const T *restrict Y, T c, T *restrict D, long ldd) {@LOSS_BLOCK@
  for (int i = 0; i < m; i++) {
    const T *restrict s = S + i * lds, *restrict y = Y + (long)i * K;
    T *restrict d = D + i * ldd;@LOSS_BODY@
  }
}

/* The workspace, in elements of T, for L layers of the given sizes and a batch of m rows. */
long gp_work_size(int L, const int *sizes, int m) {
  long n = 0;
  for (int l = 1; l <= L; l++)
    n += 2L * sizes[l - 1] * padded(sizes[l]) + padded(sizes[l]) + (long)sizes[l] * padded(sizes[l - 1]) +
         2L * m * padded(sizes[l]);
  return n;
}

/* mode 0: the logits only; 1: also c dL/dtheta into grad; 2: theta -= c dL/dtheta instead, the weights'
   part subtracted as it is computed and never stored (grad then holds the biases' part only).  The
   workspace must start zeroed (its padding columns stay finite) and hold gp_work_size elements. */
void gp_step(int L, const int *sizes, int m, const T *restrict X, const T *restrict Y, T c, T *restrict theta,
             T *restrict grad, T *restrict work, T *restrict logits, int mode) {
  T *Wp[L + 1], *bp[L + 1], *WT[L + 1], *gWp[L + 1], *Z[L + 1], *D[L + 1], *W[L + 1], *b[L + 1], *gW[L + 1],
      *gb[L + 1];
  long at = 0, P = 0;
  for (int l = 1; l <= L; l++) {
    int n0 = sizes[l - 1], n1 = sizes[l], p1 = padded(n1);
    W[l] = theta + P, gW[l] = grad + P, P += (long)n0 * n1;
    b[l] = theta + P, gb[l] = grad + P, P += n1;
    Wp[l] = work + at, at += (long)n0 * p1;
    gWp[l] = work + at, at += (long)n0 * p1;
    bp[l] = work + at, at += p1;
    WT[l] = work + at, at += (long)n1 * padded(n0);
    Z[l] = work + at, at += (long)m * p1;
    D[l] = work + at, at += (long)m * p1;
  }
  /* forward: Z_l = A_{l-1} W_l + b_l, A_l = act(Z_l) in place (A_0 = X) */
  const T *A = X;
  long lda = sizes[0];
  for (int l = 1; l <= L; l++) {
    int n0 = sizes[l - 1], n1 = sizes[l], p1 = padded(n1);
    const T *Wl = W[l], *bl = b[l];
    if (p1 != n1) { /* a copy with its rows padded to whole tiles (the padding stays zero) */
      for (int k = 0; k < n0; k++)
        for (int j = 0; j < n1; j++) Wp[l][(long)k * p1 + j] = W[l][(long)k * n1 + j];
      for (int j = 0; j < n1; j++) bp[l][j] = b[l][j];
      Wl = Wp[l], bl = bp[l];
    }
    gemm(m, n0, p1, A, lda, 1, Wl, p1, bl, Z[l], p1, 0, 0);
    if (l < L) activate(Z[l], (long)m * p1);
    A = Z[l], lda = p1;
  }
  int K = sizes[L];
  long pK = padded(K);
  if (logits)
    for (int i = 0; i < m; i++)
      for (int j = 0; j < K; j++) logits[(long)i * K + j] = Z[L][i * pK + j];
  if (mode == 0) return;
  delta(m, K, Z[L], pK, Y, c, D[L], pK);
  /* backward: D_{l-1} = (D_l W_l^T) act'(A_{l-1}) first, while W_l is the step's own; then
     dL/dW_l = A_{l-1}^T D_l and dL/db_l = sum_i D_l, stored or (mode 2) subtracted from theta */
  int minus = mode == 2;
  for (int l = L; l >= 1; l--) {
    int n0 = sizes[l - 1], n1 = sizes[l], p1 = padded(n1), p0 = padded(n0);
    if (l > 1) {
      for (int j = 0; j < n1; j++) /* W_l^T, rows padded */
        for (int k = 0; k < n0; k++) WT[l][(long)j * p0 + k] = W[l][(long)k * n1 + j];
      gemm(m, n1, p0, D[l], p1, 1, WT[l], p0, 0, D[l - 1], p0, 0, Z[l - 1]);
    }
    const T *Ain = l > 1 ? Z[l - 1] : X;
    long ldin = l > 1 ? p0 : n0;
    if (p1 != n1 && ldin == p0 && (long)n1 * p0 < (long)n0 * p1) {
      /* a narrow layer (the output's few columns): its transpose D_l^T A_{l-1} has no padded columns to
         compute, into WT (free again: the message above is done), then out of it */
      T *g = WT[l], *out = minus ? W[l] : gW[l];
      gemm(n1, m, p0, D[l], 1, p1, Ain, ldin, 0, g, p0, 0, 0);
      if (minus)
        for (int k = 0; k < n0; k++)
          for (int j = 0; j < n1; j++) out[(long)k * n1 + j] -= g[(long)j * p0 + k];
      else
        for (int k = 0; k < n0; k++)
          for (int j = 0; j < n1; j++) out[(long)k * n1 + j] = g[(long)j * p0 + k];
    } else if (p1 != n1) { /* into the padded copy, then out of it */
      T *g = gWp[l];
      gemm(n0, m, p1, Ain, 1, ldin, D[l], p1, 0, g, p1, 0, 0);
      T *out = minus ? W[l] : gW[l];
      for (int k = 0; k < n0; k++)
        for (int j = 0; j < n1; j++) {
          long t = (long)k * n1 + j;
          out[t] = minus ? out[t] - g[(long)k * p1 + j] : g[(long)k * p1 + j];
        }
    } else {
      gemm(n0, m, p1, Ain, 1, ldin, D[l], p1, 0, minus ? W[l] : gW[l], p1, minus, 0);
    }
    for (int j = 0; j < n1; j++) gb[l][j] = 0;
    for (int i = 0; i < m; i++) {
      const T *restrict d = D[l] + (long)i * p1;
      T *restrict s = gb[l];
#pragma omp simd
      for (int j = 0; j < n1; j++) s[j] += d[j];
    }
    if (minus)
      for (int j = 0; j < n1; j++) b[l][j] -= gb[l][j];
  }
}

/* gp_step with its arguments in one struct: what Python calls (a call's arguments cost more to pass than
   one pointer; the struct is filled once per batch and only c and mode change between calls) */
typedef struct {
  int L;
  const int *sizes;
  int m;
  const T *X, *Y;
  T c;
  T *theta, *grad, *work, *logits;
  int mode;
} gp_args;

void gp_call(const gp_args *a) {
  gp_step(a->L, a->sizes, a->m, a->X, a->Y, a->c, a->theta, a->grad, a->work, a->logits, a->mode);
}
"""


def source(activation: str, loss: str, dtype) -> str:
    """The C source of the step for ``activation`` hidden layers, ``loss`` on the logits, in ``dtype``.

    Every name is looked up in a fixed table (KeyError otherwise): nothing else reaches the source.
    """
    ctype, tanh, tanh_def, exp, fmt = TYPES[np.dtype(dtype)]
    forward, back = ACTIVATIONS[activation]
    text = _TEMPLATE
    for key, value in (
        ("@TANH_DEF@", tanh_def),
        ("@ACT_FWD@", forward),
        ("@ACT_BACK@", back),
        ("@LOSS_BLOCK@", LOSSES[loss][0]),
        ("@LOSS_BODY@", LOSSES[loss][1]),
        ("@ACT@", activation),
        ("@LOSS@", loss),
        ("@TANH@", tanh),
        ("@EXP@", exp),
        ("@T@", ctype),
        ("@FORMAT@", fmt),
    ):
        text = text.replace(key, value)
    return text


# -- compiling ----------------------------------------------------------------------

FLAGS = (
    "-O3",
    "-march=native",
    "-fno-math-errno",
    "-fopenmp-simd",
    "-fPIC",
    "-shared",
    "-ffp-contract=fast",
    "-fno-tree-loop-distribute-patterns",  # short copy loops stay loops, not a memcpy call per row
)
LIBS = ("-lmvec", "-lm")

# The Python front, compiled into the same object when the interpreter's headers are there: one call with the
# batch as it is (the buffer protocol checks its shape, element type and layout and gives its address), a
# fraction of what reading two addresses through NumPy and calling through ctypes costs.  It returns False
# for a batch it does not take, and the caller then goes the general way.
_FRONT_HEAD = "#define PY_SSIZE_T_CLEAN\n#include <Python.h>\n"
_FRONT = r"""
/* the Python front: step(args, X, Y, c, mode) -> whether it ran (args: a gp_args's address, X and Y filled
   in from the batch; X m x sizes[0] and Y m x sizes[L], C-contiguous, of element type T) */
static int gp_view(PyObject *o, Py_buffer *b, Py_ssize_t rows, Py_ssize_t cols) {
  if (PyObject_GetBuffer(o, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
    PyErr_Clear();
    return 0;
  }
  const char *f = b->format;
  if (b->ndim == 2 && b->shape[0] == rows && b->shape[1] == cols && b->itemsize == (Py_ssize_t)sizeof(T) && f &&
      f[0] == FORMAT && f[1] == 0)
    return 1;
  PyBuffer_Release(b);
  return 0;
}

static PyObject *gp_front_step(PyObject *self, PyObject *const *args, Py_ssize_t n) {
  (void)self;
  if (n != 5) {
    PyErr_SetString(PyExc_TypeError, "step(args, X, Y, c, mode) takes 5 arguments");
    return NULL;
  }
  const gp_args *base = PyLong_AsVoidPtr(args[0]);
  if (base == NULL) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "no argument struct");
    return NULL;
  }
  double c = PyFloat_AsDouble(args[3]);
  if (c == -1.0 && PyErr_Occurred()) return NULL;
  long mode = PyLong_AsLong(args[4]);
  if (mode == -1 && PyErr_Occurred()) return NULL;
  if (mode < 0 || mode > 2) {
    PyErr_SetString(PyExc_ValueError, "mode must be 0, 1 or 2");
    return NULL;
  }
  gp_args a = *base;
  Py_buffer bx, by;
  int has_y = args[2] != Py_None;
  if (!has_y && mode != 0) Py_RETURN_FALSE;
  if (!gp_view(args[1], &bx, a.m, a.sizes[0])) Py_RETURN_FALSE;
  if (has_y && !gp_view(args[2], &by, a.m, a.sizes[a.L])) {
    PyBuffer_Release(&bx);
    Py_RETURN_FALSE;
  }
  a.X = bx.buf;
  a.Y = has_y ? by.buf : NULL;
  a.c = (T)c;
  a.mode = (int)mode;
  Py_BEGIN_ALLOW_THREADS
  gp_call(&a);
  Py_END_ALLOW_THREADS
  if (has_y) PyBuffer_Release(&by);
  PyBuffer_Release(&bx);
  Py_RETURN_TRUE;
}

static PyMethodDef gp_front_methods[] = {
    {"step", (PyCFunction)(void (*)(void))gp_front_step, METH_FASTCALL, "step(args, X, Y, c, mode) -> bool"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef gp_front_def = {
    PyModuleDef_HEAD_INIT, "gp_front", NULL, 0, gp_front_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit_gp_front(void) { return PyModuleDef_Init(&gp_front_def); }
"""


def python_include() -> str | None:
    """The folder of the running interpreter's ``Python.h``, or None (then the kernel has no Python front)."""
    import sysconfig

    folder = sysconfig.get_paths().get("include")
    return folder if folder and os.path.isfile(os.path.join(folder, "Python.h")) else None


def _unit(src: str) -> tuple[str, tuple[str, ...]]:
    """What is compiled for ``src``, and the flags it adds: the kernel, with the Python front when it can be."""
    include = python_include()
    if include is None:
        return src, ()
    return _FRONT_HEAD + src + _FRONT, ("-I", include)


def enabled() -> bool:
    """False when ``GRADPROOF_COMPILED`` is 0 / false / no / off."""
    return os.environ.get(ENV_SWITCH, "").strip().lower() not in ("0", "false", "no", "off")


def compiler() -> str | None:
    """The C compiler on PATH (``gcc``), or None."""
    return shutil.which("gcc")


def kernel_dir() -> Path:
    override = os.environ.get(ENV_CACHE)
    if override:
        return Path(override).expanduser() / "kernels"
    import platformdirs

    return Path(platformdirs.user_cache_dir("gradproof", appauthor=False)) / "kernels"


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.machine()


_VERSIONS: dict[str, str] = {}


def _version(cc: str) -> str:
    got = _VERSIONS.get(cc)
    if got is None:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30, check=True)
        got = _VERSIONS[cc] = out.stdout
    return got


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class BuildError(RuntimeError):
    """The kernel could not be compiled or loaded; the message says why (one line)."""


def compile_cached(src: str) -> Path:
    """The shared object of ``src``, from the cache or compiled into it (atomically); BuildError on failure."""
    so, check = _cache_paths(src)
    if _intact(so, check):
        return so
    folder, cc = so.parent, compiler()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".build-") as tmp:
            c_file, out = Path(tmp) / "step.c", Path(tmp) / "step.so"
            text, extra = _unit(src)
            c_file.write_text(text)
            done = subprocess.run(
                [cc, *FLAGS, *extra, "-o", str(out), str(c_file), *LIBS], capture_output=True, text=True, timeout=300
            )
            if done.returncode != 0:
                first = (done.stderr.strip().splitlines() or ["no message"])[0]
                raise BuildError(f"{Path(cc).name} failed: {first}")
            digest = _digest(out)
            sum_tmp = Path(tmp) / "step.sha256"
            sum_tmp.write_text(digest + "\n")
            os.replace(out, so)  # the object first: a checksum never names a missing or older object
            os.replace(sum_tmp, check)
    except (OSError, subprocess.SubprocessError) as err:
        raise BuildError(f"cannot build the compiled step: {err}") from None
    return so


def _load_front(path: Path):
    """The Python front's ``step`` from a kernel's object (None when it does not load: the ctypes call remains)."""
    from importlib import machinery, util

    try:
        loader = machinery.ExtensionFileLoader("gp_front", str(path))
        module = util.module_from_spec(util.spec_from_loader("gp_front", loader))
        loader.exec_module(module)
        return module.step
    except (ImportError, AttributeError, OSError):
        return None


class Kernel:
    """One loaded kernel: ``run`` calls ``gp_step`` on a network's own arrays, a workspace per batch size."""

    def __init__(self, path: Path, dtype, activation: str, loss: str):
        self.path, self.dtype, self.activation, self.loss = path, np.dtype(dtype), activation, loss
        try:
            lib = ctypes.CDLL(str(path))
            lib.gp_step, lib.gp_work_size  # noqa: B018 -- both present, or not our kernel
        except (OSError, AttributeError) as err:
            raise BuildError(f"cannot load {path.name}: {err}") from None
        ptr, i32 = ctypes.c_void_p, ctypes.c_int
        scalar = ctypes.c_double if self.dtype == np.float64 else ctypes.c_float

        class Args(ctypes.Structure):  # gp_args, field for field
            _fields_ = [
                ("L", i32),
                ("sizes", ptr),
                ("m", i32),
                ("X", ptr),
                ("Y", ptr),
                ("c", scalar),
                ("theta", ptr),
                ("grad", ptr),
                ("work", ptr),
                ("logits", ptr),
                ("mode", i32),
            ]

        call = lib.gp_call
        call.argtypes = [ptr]
        call.restype = None
        size = lib.gp_work_size
        size.argtypes = [i32, ptr, i32]
        size.restype = ctypes.c_long
        self._call, self._size, self._Args, self._lib = call, size, Args, lib
        self.front = _load_front(path) if hasattr(lib, "PyInit_gp_front") else None

    def bind(self, sizes, theta: np.ndarray, grad: np.ndarray) -> Bound:
        """The kernel for one network: its sizes, parameter and gradient vectors (C-contiguous, this dtype)."""
        return Bound(self, sizes, theta, grad)


class Bound:
    """A kernel bound to one network's sizes and flat vectors; ``run(X, Y, c, mode)``."""

    MAX_SIZES = 4

    def __init__(self, kernel: Kernel, sizes, theta: np.ndarray, grad: np.ndarray):
        if theta.dtype != kernel.dtype or grad.dtype != kernel.dtype:
            raise ValueError("the parameter vectors must have the kernel's dtype")
        if not (theta.flags.c_contiguous and grad.flags.c_contiguous and theta.size == grad.size):
            raise ValueError("theta and its gradient must be C-contiguous vectors of one size")
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1 or max(sizes) > 1 << 20:
            raise ValueError("layer sizes must be integers from 1 to 2^20")
        if theta.size != sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])):
            raise ValueError("theta does not hold an MLP of these sizes")
        self.kernel, self.theta, self.grad = kernel, theta, grad
        self.sizes = np.array(sizes, dtype=np.intc)
        self.L, self.K = len(sizes) - 1, sizes[-1]
        self._per_m: dict = {}
        self._last: tuple | None = None
        self.front = kernel.front

    def take(self, X, Y, alpha: float, mode: int, rows: int) -> np.ndarray | None:
        """``run(X, Y, alpha / m, mode)`` through the Python front when it takes the batch as it is (2-D,
        C-contiguous, of this network's widths and dtype, of 1 to ``rows`` rows): the logits buffer; else
        None (no front, or another batch: the caller goes the general way)."""
        front = self.front
        if front is None:
            return None
        try:
            m = len(X)
        except TypeError:
            return None
        if not 0 < m <= rows:
            return None
        got = self._per_m.get(m) or self._for(m)
        return got[3] if front(got[1], X, Y, alpha / m, mode) else None

    def _for(self, m: int):
        """The call of batches of ``m`` rows: its argument struct (every pointer but the batch's filled
        in), the struct's address, its workspace and logits buffer, and the ``[c, mode]`` it holds (kept
        for the last few sizes)."""
        got = self._per_m.get(m)
        if got is None:
            if len(self._per_m) >= self.MAX_SIZES:
                self._per_m.clear()
            k = self.kernel
            work = memory.aligned_empty(int(k._size(self.L, self.sizes.ctypes.data, m)), k.dtype)
            work[...] = 0
            logits = np.empty((m, self.K), k.dtype)
            args = k._Args(self.L, self.sizes.ctypes.data, m, None, None, 0.0)
            args.theta, args.grad = self.theta.ctypes.data, self.grad.ctypes.data
            args.work, args.logits = work.ctypes.data, logits.ctypes.data
            got = self._per_m[m] = (args, ctypes.addressof(args), work, logits, [0.0, 0])
        return got

    def run(self, X: np.ndarray, Y: np.ndarray | None, c: float, mode: int) -> np.ndarray:
        """Mode 0: the logits; 1: also ``c dL/dtheta`` into the gradient vector; 2: ``theta -= c dL/dtheta``
        instead (each weight's entry subtracted as the product computes it, never stored: the gradient
        vector is left holding only its biases' part).

        ``X`` (m x n_0) and ``Y`` (m x K) must be C-contiguous in the kernel's dtype (the caller checks).
        Returns the logits buffer (m x K; overwritten by the next call of this batch size).
        """
        last = self._last
        if last is None or last[0] is not X or last[1] is not Y:
            # the batch's addresses go into its size's struct, and the batch is kept while it comes back
            # (a training loop's batch does): its struct is then called as it stands
            got = self._for(X.shape[0])
            args = got[0]
            args.X, args.Y = _address(X), None if Y is None else _address(Y)
            last = self._last = (X, Y, got)
        args, address, _, logits, now = last[2]
        if c != now[0] or mode != now[1]:
            args.c, args.mode = now[0], now[1] = c, mode
        self.kernel._call(address)
        return logits


def _address(a: np.ndarray) -> int:
    """The address of a C-contiguous array's first element: through the buffer protocol when the array is
    writable (a quarter of the cost of ``a.ctypes.data``), else through NumPy's ctypes view."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    except (TypeError, ValueError, BufferError):
        return a.ctypes.data


def _cache_paths(src: str) -> tuple[Path, Path]:
    """The object and checksum paths of ``src`` for the compiler on PATH (BuildError without one)."""
    cc = compiler()
    if cc is None:
        raise BuildError("no C compiler (gcc) on PATH")
    try:
        version = _version(cc)
    except (OSError, subprocess.SubprocessError) as err:
        raise BuildError(f"{cc} --version failed: {err}") from None
    text, extra = _unit(src)  # the front ties an object to this interpreter: its version is in the key too
    parts = (text, version, " ".join(FLAGS + extra + LIBS), _cpu_flags(), sys.version if extra else "")
    key = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
    folder = kernel_dir()
    return folder / f"step-{key}.so", folder / f"step-{key}.sha256"


def _intact(so: Path, check: Path) -> bool:
    try:
        return so.is_file() and check.is_file() and check.read_text().strip() == _digest(so)
    except OSError:
        return False


def clear() -> int:
    """Remove every compiled kernel, its checksum and any build left half-done; returns how many kernels went.

    Other files in the folder are left alone.
    """
    n = 0
    try:
        names = list(kernel_dir().iterdir())
    except FileNotFoundError:
        return 0
    for p in names:
        if p.name.startswith(".build-") and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith("step-") and p.suffix in (".so", ".sha256"):
            try:
                p.unlink()
            except FileNotFoundError:
                continue
            n += p.suffix == ".so"
    return n


def cached(activation, loss, dtype) -> bool:
    """Whether the kernel for these names is compiled and intact in the cache (never compiles)."""
    if activation not in ACTIVATIONS or loss not in LOSSES or np.dtype(dtype) not in TYPES:
        return False
    try:
        return _intact(*_cache_paths(source(activation, loss, dtype)))
    except BuildError:
        return False


def build(activation: str, loss: str, dtype) -> Kernel:
    """The compiled, loaded kernel for this activation, loss and dtype (BuildError when it cannot be had)."""
    if activation not in ACTIVATIONS or loss not in LOSSES or np.dtype(dtype) not in TYPES:
        raise BuildError(f"no compiled variant for {activation}, {loss} in {np.dtype(dtype)}")
    src = source(activation, loss, dtype)
    path = compile_cached(src)
    return Kernel(path, dtype, activation, loss)
