"""Data-parallel training across processes, GPUs and nodes with PyTorch's own engine.

``torchrun --nproc_per_node=N -m clipaac_lib.train ...`` starts N processes; each calls
:func:`init_from_env` (NCCL on CUDA, gloo on CPU), trains a :class:`~torch.nn.parallel.DistributedDataParallel`
replica on its shard of every global batch, and DDP averages the gradients.

Making N processes equal one process with the same global batch (up to float rounding; dropout aside):

- batches: one :class:`ShardedBatchSampler` per process cuts every global batch of the no-same-clip
  sampler into N contiguous shards (sizes differing by at most one);
- contrastive loss: :func:`~clipaac_lib.common.collectives.gather_with_grad` (beside the loss, in
  :func:`clipaac_lib.model.losses.training_loss`) concatenates the embeddings of all processes in rank order,
  so every process computes the loss of the whole global batch (Eq. 5: the negatives are the global
  batch); its backward sums the gradients that all processes send to each shard, and DDP's averaging
  divides that sum by N again, giving exactly the single-process gradient;
- caption loss: each process scales its token-mean loss by ``N * local_tokens / global_tokens``, so that
  DDP's average is the mean over the tokens of the global batch (also in ``training_loss``);
- batch normalisation: statistics over the global batch. On CUDA this is :class:`torch.nn.SyncBatchNorm`;
  on CPU (which SyncBatchNorm refuses) :class:`GlobalBatchNorm` does the same with two all-reduces;
- the fbsp layer's gradient rescaling (AudioCLIP divides those gradients by their max-abs): done after
  DDP's averaging (:func:`defer_fbsp_grad_normalize`), not per process.

Explained in ``book/running.md`` (section "Beyond one machine").
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import BatchSampler

from clipaac_lib.common import (
    all_reduce_with_grad,
    gather_with_grad,
    global_sum,
    global_sum_tensor,
    is_distributed,
)
from clipaac_lib.model import LinearFBSP

__all__ = [
    "DistInfo",
    "init_from_env",
    "shutdown",
    "is_distributed",
    "gather_with_grad",
    "all_reduce_with_grad",
    "global_sum",
    "global_sum_tensor",
    "defer_fbsp_grad_normalize",
    "GlobalBatchNorm",
    "convert_batchnorm",
    "ShardedBatchSampler",
    "shard_sizes",
    "barrier",
]


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job: ``rank`` of ``world_size``; ``local_rank`` picks the GPU."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env(device_type: str) -> DistInfo:
    """Join the process group described by torchrun's variables (``WORLD_SIZE``, ``RANK``, ...).

    Without them (or with ``WORLD_SIZE=1``) nothing happens and a single-process :class:`DistInfo` is returned.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank)


def shutdown() -> None:
    """Leave the process group, if any."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every process (no-op in a single process)."""
    if is_distributed():
        dist.barrier()


def defer_fbsp_grad_normalize(model: nn.Module) -> list[nn.Module]:
    """Switch every fbsp layer of ``model`` to rescale its gradients after the all-reduce.

    AudioCLIP divides the fbsp gradients by their max-abs in the backward pass; done per process it would
    not commute with DDP's averaging. Call ``normalize_grads()`` on the returned layers after
    ``backward()`` (DDP has averaged by then): the result equals one process with the global batch. The
    fp16 step defers it too, to after the gradient scaler's unscaling (a max-abs rescaling of scaled
    gradients would be divided by the scale again).
    """
    layers = [m for m in model.modules() if isinstance(m, LinearFBSP) and m.grad_normalize]
    for layer in layers:
        layer.defer_grad_normalize = True
    return layers


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch normalisation with statistics over the global batch of all processes (works on CPU/gloo).

    Outside a process group, or in eval mode, it is an ordinary batch norm.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2-D input (N, C, ...); got {input.dim()}-D")

    def forward(self, x: Tensor) -> Tensor:  # x: (N, C, *)
        if not (self.training and is_distributed()):
            return super().forward(x)
        dims = [0, *range(2, x.dim())]
        shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
        x32 = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x  # statistics in >= float32
        local_count = x.numel() // max(x.shape[1], 1)
        total = global_sum(local_count, x.device)
        mean = all_reduce_with_grad(x32.sum(dims)) / total  # (C,)
        centred = x32 - mean.view(shape)
        var = all_reduce_with_grad((centred * centred).sum(dims)) / total  # (C,) biased
        if self.track_running_stats and self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                self.num_batches_tracked += 1
                momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                unbiased = var * (total / max(total - 1.0, 1.0))
                self.running_mean.mul_(1 - momentum).add_(momentum * mean)
                self.running_var.mul_(1 - momentum).add_(momentum * unbiased)
        y = centred * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def convert_batchnorm(module: nn.Module, device_type: str) -> nn.Module:
    """Replace every batch norm by a global one: SyncBatchNorm on CUDA, :class:`GlobalBatchNorm` elsewhere.

    The new modules hold the same parameter and buffer objects, so the state-dict keys are unchanged.
    """
    if device_type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, GlobalBatchNorm):
        new = GlobalBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                              module.track_running_stats)
        with torch.no_grad():  # keep the very same parameters and buffers (an optimiser may hold them)
            for name, param in module.named_parameters(recurse=False):
                setattr(new, name, param)
            for name, buffer in module.named_buffers(recurse=False):
                setattr(new, name, buffer)
        new.train(module.training)
        return new
    for name, child in module.named_children():
        new_child = convert_batchnorm(child, device_type)
        if new_child is not child:
            setattr(module, name, new_child)
    return module


def shard_sizes(n: int, world_size: int) -> list[int]:
    """Split ``n`` items into ``world_size`` contiguous shards whose sizes differ by at most one."""
    base, extra = divmod(n, world_size)
    return [base + (1 if r < extra else 0) for r in range(world_size)]


class ShardedBatchSampler:
    """This process's contiguous shard of every global batch of ``batch_sampler``.

    A global batch smaller than the number of processes (a short last batch) is skipped by all of them.
    ``set_epoch`` is passed on to the wrapped sampler.
    """

    def __init__(self, batch_sampler: Iterable[list[int]], rank: int, world_size: int) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside [0, {world_size})")
        self.batch_sampler = batch_sampler
        self.rank, self.world_size = rank, world_size

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.batch_sampler, "set_epoch"):
            self.batch_sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batch_sampler:
            batch = list(batch)
            if len(batch) < self.world_size:
                continue
            sizes = shard_sizes(len(batch), self.world_size)
            start = sum(sizes[: self.rank])
            yield batch[start : start + sizes[self.rank]]

    def __len__(self) -> int:
        """The number of batches :meth:`__iter__` yields (the same on every rank): the global batches of at
        least ``world_size`` items.

        A plain torch ``BatchSampler`` is counted from its sizes alone (iterating one over a ``RandomSampler``
        would draw from the global random generator); any other re-iterable sampler is iterated, which
        for :class:`~clipaac_lib.data.batching.NoSameClipBatchSampler` reads its cached plan of the
        current epoch (call ``set_epoch`` first, as the training loop does).
        """
        sampler = self.batch_sampler
        if type(sampler) is BatchSampler:  # not a subclass: it may batch differently
            full, rest = divmod(len(sampler.sampler), sampler.batch_size)  # type: ignore[arg-type]
            return full * (sampler.batch_size >= self.world_size) + int(
                rest >= self.world_size and not sampler.drop_last)
        if iter(sampler) is sampler:  # type: ignore[comparison-overlap]
            raise TypeError("ShardedBatchSampler over a one-shot iterator has no length; pass a re-iterable "
                            "batch sampler (a list or a Sampler)")
        return sum(1 for batch in sampler if len(batch) >= self.world_size)
