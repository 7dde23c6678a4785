"""Collectives across the processes of a ``torchrun`` job, differentiable where the loss needs it.

Each is the identity in a single process, so code written for one process runs unchanged. The
contrastive loss of a data-parallel job gathers the embeddings of every process
(:func:`gather_with_grad`, used by :func:`clipaac_lib.model.losses.training_loss`), so that the
negatives are the global batch (Eq. 5); the caption loss's token weighting sums counts
(:func:`global_sum_tensor`). Explained in ``book/running.md`` (section "Beyond one machine").
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import FunctionCtx

__all__ = ["all_reduce_with_grad", "gather_with_grad", "global_sum", "global_sum_tensor", "is_distributed"]


def is_distributed() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class _GatherWithGrad(Function):
    """All-gather along dim 0 (shards may differ in size); backward sums the gradients of all processes."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor) -> Tensor:
        world = dist.get_world_size()
        size = torch.tensor([x.shape[0]], device=x.device)
        sizes = [torch.zeros_like(size) for _ in range(world)]
        dist.all_gather(sizes, size)
        counts = [int(s.item()) for s in sizes]
        longest = max(counts)
        padded = x.new_zeros((longest, *x.shape[1:]))
        padded[: x.shape[0]] = x
        pieces = [torch.zeros_like(padded) for _ in range(world)]
        dist.all_gather(pieces, padded.contiguous())
        rank = dist.get_rank()
        ctx.start, ctx.stop = sum(counts[:rank]), sum(counts[: rank + 1])
        return torch.cat([piece[:n] for piece, n in zip(pieces, counts, strict=True)], dim=0)

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.start : ctx.stop]


class _AllReduceWithGrad(Function):
    """All-reduce (sum) whose backward is again an all-reduce (sum)."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor) -> Tensor:
        out = x.contiguous().clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> Tensor:
        out = grad.contiguous().clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out


def gather_with_grad(x: Tensor) -> Tensor:
    """(b_r, ...) on each process -> (sum_r b_r, ...) in rank order, differentiable; identity alone."""
    return _GatherWithGrad.apply(x) if is_distributed() else x


def all_reduce_with_grad(x: Tensor) -> Tensor:
    """Sum of ``x`` over processes, differentiable; identity alone."""
    return _AllReduceWithGrad.apply(x) if is_distributed() else x


def global_sum(value: float, device: torch.device | str = "cpu") -> float:
    """Sum of a Python number over processes (no gradient)."""
    if not is_distributed():
        return float(value)
    return float(global_sum_tensor(torch.tensor([float(value)], dtype=torch.float64, device=device)).item())


def global_sum_tensor(x: Tensor) -> Tensor:
    """Sum of a tensor over processes, as a tensor on its device: no host synchronisation (unlike
    :func:`global_sum`); identity alone."""
    if not is_distributed():
        return x
    out = x.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


